"""What every config section is: a pydantic model that rejects unknown keys."""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

# How a model on the CPU multiplies fp32 matrices (torch.backends.mkldnn.matmul.fp32_precision).
Fp32Matmul = Annotated[
    Literal["bf16", "ieee"],
    Field(
        description="CPU only. bf16: through oneDNN, which may compute in bf16 (on an AVX-512 "
        "CPU, 2.3x MKL's throughput at fp32-level error); ieee: MKL's exact fp32"
    ),
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")
