"""A tiny random model and a config that runs the whole loop on it in minutes on a CPU: what the
end-to-end tests and the crash-and-resume driver run."""

from pathlib import Path

ALPACA_EVAL = "eval/alpaca_eval"


def make_tiny_model(path: Path, tokenizer_from: str, model_type: str = "llama",
                    template: bool = True, **fields) -> str:  # fmt: skip
    """Saves a 2-layer random model of a transformers `model_type` (extra config fields as
    keywords) with the tokenizer of `tokenizer_from`, and its chat template unless `template`
    is False (a base model's tokenizer); returns its folder."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_from)
    config = AutoConfig.for_model(
        model_type,
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        **fields,
    )
    torch.manual_seed(0)
    AutoModelForCausalLM.from_config(config).save_pretrained(path)
    if not template:
        tokenizer.chat_template = None
    tokenizer.save_pretrained(path)
    return str(path)


def tiny_config(run_dir: Path, base_model: str, data: Path) -> dict:
    """The whole loop on `base_model` (a tiny one): 16 seed pairs, one WARC, 2 training steps a
    model, one iteration, 4 evaluation prompts, 4 reference answers and the ablation's models."""
    training = {"max_steps": 2, "batch_size": 2, "max_length": 256}
    reference = str(data / ALPACA_EVAL / "text_davinci_003/model_outputs.json")
    return {
        "run_dir": str(run_dir),
        "base_model": base_model,
        "seed": {"path": str(data / "seed/oasst_first_turn_rank0.jsonl"), "limit": 16,
                 "exclude_field": "in_alpaca_eval", "holdout": 4},
        "corpus": {"paths": [str(data / "web/warc/english-pages-0001.warc.gz")]},
        # A random model writes no well-formed instruction: the form check is off here.
        "augment": {"batch_size": 4, "sampling": {"max_new_tokens": 8}, "check_form": False},
        "measure": {"boilerplate": str(data / "web/html/readability")},
        "curate": {"mode": "logprobs", "k": 1, "batch_size": 4},
        "iterations": 1,
        "training": {"backward": training, "seed": training, "iteration": training},
        "evaluate": {"prompts": reference, "limit": 4, "scaling": [2], "batch_size": 4,
                     "sampling": {"max_new_tokens": 8}},
        "reference_likelihood": {"answers": str(data / ALPACA_EVAL / "gpt4_1106_preview"
                                                / "model_outputs.json"),
                                 "prompts": 4, "ablation": True, "batch_size": 4},
        "judge": {"reference": reference, "batch_size": 4, "answer_chars": 200,
                  "calibration": {"annotations": str(data / ALPACA_EVAL / "gpt4_annotations"),
                                  "pairs": 2, "outputs": {"humpback-llama-65b": {
                                      "path": str(data / ALPACA_EVAL / "humpback-llama-65b"
                                                  / "model_outputs.json"),
                                      "published_win_rate": 83.71}}}},
    }  # fmt: skip
