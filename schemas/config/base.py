"""What every config section is: a pydantic model that rejects unknown keys."""

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")
