"""Inference backends behind one interface (transformers, vllm, openai), and the embedded model.

No Beam: pipelines wrap a backend in their own ModelHandler.
"""
