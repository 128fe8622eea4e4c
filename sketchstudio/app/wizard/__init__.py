"""The training wizard: the wizard itself, its pages (choose, folders, check) and the run."""
