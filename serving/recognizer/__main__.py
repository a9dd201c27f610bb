from recognizer.server import main

main()
