"""llm_mars: an on-robot LLM with two LoRA adapters that plans behavior trees for two robots."""
__version__ = "0.1.0"
