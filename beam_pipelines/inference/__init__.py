"""Inference backends behind one interface, and the Beam ModelHandler that runs them."""
