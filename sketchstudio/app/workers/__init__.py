"""Worker threads: one JobWorker runs every job generator (decodes, batches, training) off the
GUI thread; TrainingRunner adds pause, ProgressRun a progress dialog."""
