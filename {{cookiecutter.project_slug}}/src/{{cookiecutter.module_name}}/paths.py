"""Files the stages exchange, named once.

dvc.yaml must spell the same paths out as deps and outs, and the Dockerfile and
.dockerignore copy the served ones: tests/test_pipeline_files.py keeps them equal.
"""
from pathlib import Path

RAW_DIR = Path("data/raw")
BUNDLED_CSV = RAW_DIR / "bundled.csv"  # written by the bundled_data stage

PREPARED_DIR = Path("data/prepared")
TRAIN_CSV = PREPARED_DIR / "train.csv"
TEST_CSV = PREPARED_DIR / "test.csv"

MODELS_DIR = Path("models")
FEATURIZER = MODELS_DIR / "featurizer.joblib"
MODEL = MODELS_DIR / "model.joblib"
SCHEMA = MODELS_DIR / "schema.json"
REFERENCE_PROFILE = MODELS_DIR / "reference_profile.json"
ONNX_MODEL = MODELS_DIR / "model.onnx"
ONNX_CHECK = MODELS_DIR / "onnx_check.json"
# What the serving image holds besides the code.
SERVED = (ONNX_MODEL, SCHEMA, REFERENCE_PROFILE)

METRICS = Path("metrics.json")
PLOTS_DIR = Path("plots")
# Plot name -> file; each file holds {name: [points]} (see evaluate.plot_data).
PLOTS = {
    "roc": PLOTS_DIR / "roc.json",
    "precision_recall": PLOTS_DIR / "precision_recall.json",
    "confusion": PLOTS_DIR / "confusion.json",
}
# Metrics and plot values are rounded to this many decimals: stable files, readable diffs.
DECIMALS = 6

# Outputs DVC caches, so `dvc checkout` or `dvc repro` restores them (make clean).
CACHED_OUTPUTS = (PREPARED_DIR, FEATURIZER, MODEL, SCHEMA, REFERENCE_PROFILE,
                  ONNX_MODEL, ONNX_CHECK)
