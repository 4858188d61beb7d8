"""A loss curve PNG per trained model, from the Trainer's log history."""

from matplotlib.figure import Figure


def plot_loss(log_history: list[dict], path: str, title: str) -> None:
    """Training loss (left axis) and learning rate (right axis) against the step."""
    logged = [h for h in log_history if "loss" in h]
    steps = [h["step"] for h in logged]
    fig = Figure(figsize=(6, 3.5))
    ax = fig.subplots()
    ax.plot(steps, [h["loss"] for h in logged], marker="o", label="loss")
    ax.set(xlabel="step", ylabel="training loss", title=title)
    lr = ax.twinx()
    lr.plot(steps, [h["learning_rate"] for h in logged], color="tab:orange", linestyle="--")
    lr.set_ylabel("learning rate", color="tab:orange")
    lr.ticklabel_format(axis="y", style="sci", scilimits=(0, 0))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
