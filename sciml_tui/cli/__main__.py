from sciml_tui.cli import main

main()
