"""The workspace store (TinyDB format, file lock, atomic writes), its typed records and run
reconciliation."""

from sciml_tui.store.reconcile import LaunchWatch, reconcile
from sciml_tui.store.records import ACTIVE, FINISHED, DatasetRecord, RunRecord, RunState, SweepRecord, SweepState
from sciml_tui.store.workspace import StoreCorrupt, StoreWriteFailed, Tables, Transaction, WorkspaceStore

__all__ = ["WorkspaceStore", "Transaction", "Tables", "StoreCorrupt", "StoreWriteFailed", "reconcile", "LaunchWatch", "RunRecord",
           "SweepRecord", "DatasetRecord", "RunState", "SweepState", "FINISHED", "ACTIVE"]
