"""The run: the stage graph, planning, manifests and the `humpback` command."""
