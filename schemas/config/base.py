"""What every config section is: a pydantic model that rejects unknown keys."""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

# How a model on the CPU multiplies fp32 matrices (torch.backends.mkldnn.matmul.fp32_precision).
Fp32Matmul = Annotated[
    Literal["bf16", "ieee"],
    Field(
        description="CPU only. bf16: through oneDNN, which computes in bf16 where the CPU has "
        "bf16 units (AMX: log-probabilities move by up to 2.5e-3 a token) and in fp32 elsewhere; "
        "ieee: MKL's exact fp32"
    ),
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")
