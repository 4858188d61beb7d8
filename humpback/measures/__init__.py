"""Measures of the method that need no strong judge, taken on held-out seed pairs: backward
fidelity, instruction form, and how well each curator tells true pairs from false ones."""
