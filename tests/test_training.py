import pytest
from trl import SFTTrainer

from schemas.config import TrainingConfig
from training.examples import backward_examples, curated_examples, forward_examples
from training.sft import load_base, paper_batch_and_steps, sft_config, train

SEED = [
    {
        "instruction": f"Question {i}: how do plants grow?",
        "output": f"Plants grow with light. ({i})",
    }
    for i in range(6)
]


@pytest.mark.parametrize(
    ("n", "batch", "steps"),
    [(50, 8, 30), (100, 8, 30), (1_000, 8, 300), (3_200, 32, 500), (60_000, 32, 1_600)],
)
def test_paper_schedule_by_data_size(n, batch, steps):
    assert paper_batch_and_steps(n) == (batch, steps)


def test_examples_are_tagged_prompt_completion_pairs():
    curated = [
        {
            "messages": [
                {"role": "user", "content": "Q?\n\nAnswer with knowledge from web search."},
                {"role": "assistant", "content": "Web text."},
            ]
        }
    ]
    data = forward_examples(SEED[:1], curated, "Answer in the style of an AI Assistant.")
    assert data[0]["prompt"][0]["content"].endswith("\n\nAnswer in the style of an AI Assistant.")
    assert data[1] == curated_examples(curated)[0]
    assert data[1]["completion"] == [{"role": "assistant", "content": "Web text."}]
    backward = backward_examples(SEED[:1])[0]
    assert SEED[0]["output"] in backward["prompt"][0]["content"]
    assert backward["completion"][0]["content"] == SEED[0]["instruction"]


def test_prompt_tokens_carry_no_loss_and_the_end_of_turn_token_does(tiny_model, tmp_path):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    hp = TrainingConfig(max_steps=1, batch_size=2, max_length=256)
    trainer = SFTTrainer(
        model=load_base(tiny_model, hp.dropout),
        args=sft_config(hp, len(SEED), str(tmp_path)),
        train_dataset=backward_examples(SEED),
        processing_class=tokenizer,
    )
    row = trainer.train_dataset[0]
    ids, labels = row["input_ids"], row["labels"]
    trained = tokenizer.decode([t for t, label in zip(ids, labels, strict=True) if label != -100])
    masked = tokenizer.decode([t for t, label in zip(ids, labels, strict=True) if label == -100])
    assert trained.startswith(SEED[0]["instruction"]) and SEED[0]["output"] not in trained
    assert SEED[0]["output"] in masked and "<|im_start|>assistant" in masked
    assert "<|im_end|>" in trained  # the end-of-turn token is learned: the model learns to stop
    batch = trainer.data_collator([row])
    assert batch["labels"][0].tolist() == labels


def test_learning_rate_decays_linearly_to_the_final_factor(tiny_model, tmp_path):
    hp = TrainingConfig(max_steps=4, batch_size=2, max_length=128, learning_rate=1e-4)
    metrics = train(backward_examples(SEED), tiny_model, hp, str(tmp_path / "model"))
    assert metrics["steps"] == 4
    assert metrics["last_learning_rate"] == pytest.approx(0.9e-4)
    assert (tmp_path / "model" / "model.safetensors").exists()
