"""Fine-tune a model on humpback's curated shards with a plain TRL script (copy it and adapt).

    python tools/sft_example.py --model HuggingFaceTB/SmolLM2-135M-Instruct \\
        --data 'runs/quickstart/curate_2/curated-*.parquet' --output_dir sft-out --max_steps 100

Curated shards are Parquet files with a `messages` column (user and assistant turns), the
conversational format SFTTrainer reads as is. Their other columns (source, score, iteration,
segment_id, url) are provenance: filter on them, then drop them.
"""

import argparse

import torch
from datasets import load_dataset
from trl import SFTConfig, SFTTrainer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="hub id or local folder")
    parser.add_argument("--data", required=True, nargs="+", help="Parquet files, globs or URLs")
    parser.add_argument("--output_dir", required=True)
    parser.add_argument("--min_score", type=int, help="keep only rows scored at least this")
    parser.add_argument("--max_steps", type=int, default=100)
    parser.add_argument("--batch_size", type=int, default=8)
    parser.add_argument("--learning_rate", type=float, default=1e-5)
    parser.add_argument("--max_length", type=int, default=2048)
    args = parser.parse_args()

    data = load_dataset("parquet", data_files=args.data, split="train")
    if args.min_score is not None:
        data = data.filter(lambda row: row["score"] >= args.min_score)
    data = data.select_columns(["messages"])
    print(f"{len(data)} conversations from {args.data}")

    trainer = SFTTrainer(
        model=args.model,
        train_dataset=data,
        args=SFTConfig(
            output_dir=args.output_dir,
            max_steps=args.max_steps,
            per_device_train_batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            max_length=args.max_length,
            bf16=torch.cuda.is_available() and torch.cuda.is_bf16_supported(),
            logging_steps=1,
            save_strategy="no",
            report_to="none",
        ),
    )
    trainer.train()
    trainer.save_model(args.output_dir)
    print(f"model saved to {args.output_dir}")


if __name__ == "__main__":
    main()
