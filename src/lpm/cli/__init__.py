"""The `lpm` command line. Thin: parse, call the library, print."""
