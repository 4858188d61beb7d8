"""Tasks: one file per model step, each a prompt from a record and a record from the answer.

No Beam: `beam_pipelines.run_task.RunTask` runs any task.
"""
