from blurkit.cli import main

main()
