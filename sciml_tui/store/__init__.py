"""The workspace store (TinyDB format, file lock, atomic writes) and run reconciliation."""

from sciml_tui.store.reconcile import log_tail, read_result_json, reconcile
from sciml_tui.store.workspace import StoreCorrupt, Transaction, WorkspaceStore

__all__ = ["WorkspaceStore", "Transaction", "StoreCorrupt", "reconcile", "read_result_json", "log_tail"]
