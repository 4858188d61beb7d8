"""The run config: one YAML file describes a whole run; unknown keys and bad values are rejected.

Sections by module: `corpus` (seed, corpus, segment), `inference` (every model step's settings),
`method` (augment, curate, decontamination, rewrite, iterations, training, tags, measure),
`training` (its models' settings), `evaluation` (evaluate, judge, reference_likelihood), `run`
(the whole config, composed from each module's group of sections, with beam and dataset) and
`loader` (YAML, `${VAR}`, `--set`, secrets). `humpback config [SECTION]` lists every option.
"""

from humpback.schemas.config.base import Strict
from humpback.schemas.config.corpus import (
    CorpusConfig,
    CorpusSections,
    DedupConfig,
    NearDedupConfig,
    SeedConfig,
    SegmentConfig,
    SiteBlocksConfig,
    TextConfig,
)
from humpback.schemas.config.evaluation import (
    CalibrationConfig,
    CalibrationOutputs,
    EvaluateConfig,
    EvaluationSections,
    JudgeConfig,
    ReferenceLikelihoodConfig,
)
from humpback.schemas.config.inference import (
    BACKEND_SETTINGS,
    BackendSettings,
    InferenceConfig,
    OpenAISettings,
    Resources,
    Sampling,
    TransformersSettings,
    VllmSettings,
)
from humpback.schemas.config.loader import (
    ConfigError,
    apply_override,
    load_config,
    names_secret,
    redact_secrets,
)
from humpback.schemas.config.method import (
    SEED_TAG,
    WEB_TAG,
    AugmentConfig,
    CurateConfig,
    DecontaminationConfig,
    DemonstrationsConfig,
    MeasureConfig,
    MethodSections,
    TagsConfig,
)
from humpback.schemas.config.run import (
    LIKELIHOOD_BACKENDS,
    BeamConfig,
    DatasetCardConfig,
    RunBasics,
    RunConfig,
)
from humpback.schemas.config.training import (
    LoraSettings,
    MixConfig,
    SourceMix,
    TrainingConfig,
    TrainingRoles,
)

__all__ = [
    "BACKEND_SETTINGS", "LIKELIHOOD_BACKENDS", "SEED_TAG", "WEB_TAG", "AugmentConfig",
    "BackendSettings", "BeamConfig", "CalibrationConfig", "CalibrationOutputs", "ConfigError",
    "CorpusConfig", "CorpusSections", "CurateConfig", "DatasetCardConfig",
    "DecontaminationConfig", "DedupConfig", "DemonstrationsConfig", "EvaluateConfig",
    "EvaluationSections", "InferenceConfig", "JudgeConfig", "LoraSettings", "MeasureConfig",
    "MethodSections", "MixConfig", "NearDedupConfig", "OpenAISettings",
    "ReferenceLikelihoodConfig", "Resources", "RunBasics", "RunConfig", "Sampling", "SeedConfig",
    "SegmentConfig", "SiteBlocksConfig", "SourceMix", "Strict", "TagsConfig", "TextConfig",
    "TrainingConfig", "TrainingRoles", "TransformersSettings", "VllmSettings", "apply_override",
    "load_config", "names_secret", "redact_secrets",
]  # fmt: skip
