"""The DAG-build side: the config check and the plan (specs of every job)."""
