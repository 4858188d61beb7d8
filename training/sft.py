"""One TRL SFTTrainer job: a base model fine-tuned on prompt-completion examples."""

import json
import math
import warnings
from pathlib import Path

import torch
from datasets import Dataset
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer
from trl import SFTConfig, SFTTrainer

from schemas.config import TrainingConfig

# The paper's (examples, batch size, steps) for its data-scaling runs.
PAPER_SCHEDULE = [
    (100, 8, 30),
    (800, 8, 300),
    (1_600, 8, 600),
    (3_200, 32, 500),
    (6_400, 32, 600),
    (12_800, 32, 600),
    (25_600, 32, 1_200),
    (51_200, 32, 1_600),
]


def paper_batch_and_steps(n_examples: int) -> tuple[int, int]:
    """Batch 32 (8 below 3,000 examples); steps from the paper's table at the nearest size below."""
    batch = 8 if n_examples < 3_000 else 32
    steps = PAPER_SCHEDULE[0][2]
    for size, _, table_steps in PAPER_SCHEDULE:
        if n_examples >= size:
            steps = table_steps
    return batch, steps


def sft_config(hp: TrainingConfig, n_examples: int, output_dir: str) -> SFTConfig:
    """The paper's recipe as an SFTConfig: linear decay to lr * final_lr_factor, loss on answers."""
    batch, steps = paper_batch_and_steps(n_examples)
    batch, steps = hp.batch_size or batch, hp.max_steps or steps
    per_device = math.ceil(batch / hp.gradient_accumulation_steps)
    return SFTConfig(
        output_dir=output_dir,
        max_steps=steps,
        per_device_train_batch_size=per_device,
        gradient_accumulation_steps=hp.gradient_accumulation_steps,
        learning_rate=hp.learning_rate,
        lr_scheduler_type="warmup_stable_decay",
        # The first step runs at lr and the last at lr * final_lr_factor.
        lr_scheduler_kwargs={
            "num_stable_steps": 0,
            "num_decay_steps": max(steps - 1, 1),
            "decay_type": "linear",
            "min_lr_ratio": hp.final_lr_factor,
        },
        weight_decay=hp.weight_decay,
        max_length=hp.max_length,
        completion_only_loss=True,
        bf16=torch.cuda.is_available() and torch.cuda.is_bf16_supported(),
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        seed=hp.seed,
        disable_tqdm=False,
    )


def load_base(base_model: str, dropout: float):
    """The base model with the paper's dropout on every dropout field its config has."""
    config = AutoConfig.from_pretrained(base_model)
    for field in ("attention_dropout", "hidden_dropout", "dropout", "resid_pdrop", "embd_pdrop"):
        if hasattr(config, field):
            setattr(config, field, dropout)
    return AutoModelForCausalLM.from_pretrained(base_model, config=config, dtype=torch.float32)


def train(examples: Dataset, base_model: str, hp: TrainingConfig, output_dir: str) -> dict:
    """Fine-tune `base_model` on `examples`; the model and tokenizer are saved to `output_dir`."""
    tokenizer = AutoTokenizer.from_pretrained(base_model)
    trainer = SFTTrainer(
        model=load_base(base_model, hp.dropout),
        args=sft_config(hp, len(examples), output_dir),
        train_dataset=examples,
        processing_class=tokenizer,
    )
    with warnings.catch_warnings():  # transformers warns that num_stable_steps overrides its own
        warnings.filterwarnings("ignore", message="Both num_training_steps and num_stable_steps")
        result = trainer.train()
    trainer.save_model(output_dir)
    history = [h for h in trainer.state.log_history if "loss" in h]
    Path(output_dir, "log_history.json").write_text(json.dumps(trainer.state.log_history, indent=1))
    return {
        "examples": len(examples),
        "steps": trainer.state.global_step,
        "train_loss": result.training_loss,
        "first_loss": history[0]["loss"] if history else None,
        "last_loss": history[-1]["loss"] if history else None,
        "last_learning_rate": history[-1]["learning_rate"] if history else None,
    }
