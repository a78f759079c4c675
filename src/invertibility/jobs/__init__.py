"""One module per job family (train, invert, judge, distances, diagnostics), and the device and
allocator set-up every torch job starts with."""
