"""One TRL SFTTrainer job: a base model fine-tuned on prompt-completion examples."""

import json
import math
import os
import sys
import warnings
from pathlib import Path

import torch
from datasets import Dataset, IterableDataset
from peft import LoraConfig, PeftModel
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, TrainerCallback
from trl import SFTConfig, SFTTrainer

from humpback.inference.allocator import reuse_freed_blocks
from humpback.inference.chat_template import SAFE_LOADING, load_tokenizer
from humpback.schemas.config import LoraSettings, TrainingConfig
from humpback.storage.folders import upload
from humpback.training.data import SET_COLUMN, SpreadSampler
from humpback.training.loss_curve import plot_loss

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
    """The paper's recipe as an SFTConfig: linear decay to lr * final_lr_factor, loss on answers.

    The batch size is global: split over processes (WORLD_SIZE) and accumulation steps.
    """
    batch, steps = paper_batch_and_steps(n_examples)
    batch, steps = hp.batch_size or batch, hp.max_steps or steps
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    per_device = max(math.ceil(batch / (hp.gradient_accumulation_steps * world_size)), 1)
    bf16 = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
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
        bf16=bf16 if hp.bf16 is None else hp.bf16,
        activation_checkpointing=hp.gradient_checkpointing,
        logging_steps=1,
        save_strategy="steps",
        save_steps=hp.save_steps,
        save_total_limit=2,
        report_to="none",
        seed=hp.seed,
        data_seed=hp.seed,
        disable_tqdm=not sys.stderr.isatty(),  # a log gets one line of figures a step
    )


def load_base(base_model: str, dropout: float):
    """The base model with the paper's dropout on every dropout field its config has."""
    config = AutoConfig.from_pretrained(base_model)
    for field in ("attention_dropout", "hidden_dropout", "dropout", "resid_pdrop", "embd_pdrop"):
        if hasattr(config, field):
            setattr(config, field, dropout)
    return AutoModelForCausalLM.from_pretrained(
        base_model, config=config, dtype=torch.float32, **SAFE_LOADING
    )


def lora_config(lora: LoraSettings | None) -> LoraConfig | None:
    if lora is None:
        return None
    return LoraConfig(
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=lora.target_modules,
        task_type="CAUSAL_LM",
    )


def merge_adapter(base_model: str, adapter_dir: str, model_dir: str) -> None:
    """Fold a LoRA adapter into the base weights: a plain model that vLLM serves as is."""
    base = AutoModelForCausalLM.from_pretrained(base_model, dtype=torch.float32, **SAFE_LOADING)
    merged = PeftModel.from_pretrained(base, adapter_dir).merge_and_unload()
    merged.save_pretrained(model_dir)
    AutoTokenizer.from_pretrained(adapter_dir).save_pretrained(model_dir)


def last_complete_checkpoint(folder: str) -> str | None:
    """The newest `checkpoint-N` whose trainer state was written: the Trainer writes that file
    last, so a crash in the middle of a save leaves a checkpoint without it, which is skipped."""
    found = sorted(Path(folder).glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[-1]))
    complete = [p for p in found if (p / "trainer_state.json").is_file()]
    return str(complete[-1]) if complete else None


class SpreadTrainer(SFTTrainer):
    """TRL's SFTTrainer that reads a spread mix (data with a `SET_COLUMN`) in its spread order,
    each set reshuffled in its places every epoch (`SpreadSampler`); other data in TRL's seeded
    random order."""

    def _get_train_sampler(self, train_dataset=None):
        names = getattr(self.train_dataset, "column_names", None) or []
        if SET_COLUMN not in names:  # the trainer's own rows: TRL drops fully masked examples
            return super()._get_train_sampler(train_dataset)
        return SpreadSampler(list(self.train_dataset[SET_COLUMN]), self.args.seed)


class NoFinalCheckpoint(TrainerCallback):
    """No checkpoint at the last step: the model is saved right after it, and the checkpoint
    (the optimizer's state with it, three times the model) would be deleted unread."""

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step >= state.max_steps:
            control.should_save = False


class UploadCheckpoints(TrainerCallback):
    """Copy each checkpoint to a remote folder as soon as it is saved, its trainer state last."""

    def __init__(self, url: str):
        self.url = url

    def on_save(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            name = f"checkpoint-{state.global_step}"
            upload(f"{args.output_dir}/{name}", f"{self.url}/{name}", last=("trainer_state.json",))


def train(
    examples: Dataset | IterableDataset,
    n_examples: int,
    base_model: str,
    hp: TrainingConfig,
    stage_dir: str,
    checkpoint_url: str | None = None,
    chat_template: str | None = None,
) -> dict:
    """Fine-tune `base_model` on `examples` (n_examples of them) into `<stage_dir>/model`.

    The tokenizer gets `chat_template` (or a default where it has none), saved with the model.
    Checkpoints go to `<stage_dir>/checkpoints` (and to `checkpoint_url` if set); a rerun
    resumes from the last complete one. A spread mix is read in its order (`SpreadTrainer`).
    """
    args = sft_config(hp, n_examples, f"{stage_dir}/checkpoints")
    torch.backends.mkldnn.matmul.fp32_precision = hp.fp32_matmul  # CPU only: no GPU op reads it
    reuse_freed_blocks()
    callbacks = [NoFinalCheckpoint()]
    if checkpoint_url:
        callbacks.append(UploadCheckpoints(checkpoint_url))
    trainer = SpreadTrainer(
        model=load_base(base_model, hp.dropout),
        args=args,
        train_dataset=examples,
        processing_class=load_tokenizer(base_model, chat_template),
        peft_config=lora_config(hp.lora),
        callbacks=callbacks,
    )
    resume = last_complete_checkpoint(args.output_dir)
    with warnings.catch_warnings():  # transformers warns that num_stable_steps overrides its own
        warnings.filterwarnings("ignore", message="Both num_training_steps and num_stable_steps")
        result = trainer.train(resume_from_checkpoint=resume)
    model_dir = f"{stage_dir}/model"
    if hp.lora is None:
        trainer.save_model(model_dir)
    else:
        trainer.save_model(f"{stage_dir}/adapter")
        if trainer.is_world_process_zero():
            merge_adapter(base_model, f"{stage_dir}/adapter", model_dir)
    trainer.accelerator.wait_for_everyone()  # every rank has finished writing its checkpoint files
    history = trainer.state.log_history
    if trainer.is_world_process_zero():
        Path(stage_dir, "log_history.json").write_text(json.dumps(history, indent=1))
        plot_loss(history, f"{stage_dir}/loss.png", title=Path(stage_dir).name)
    logged = [h for h in history if "loss" in h]
    trained = trainer.train_dataset
    return {
        "examples": n_examples,
        "trained_examples": len(trained) if isinstance(trained, Dataset) else None,
        "steps": trainer.state.global_step,
        "processes": trainer.args.world_size,
        "resumed_from": resume,
        "train_loss": result.training_loss,
        "first_loss": logged[0]["loss"] if logged else None,
        "last_loss": logged[-1]["loss"] if logged else None,
        "first_learning_rate": logged[0]["learning_rate"] if logged else None,
        "last_learning_rate": logged[-1]["learning_rate"] if logged else None,
    }
