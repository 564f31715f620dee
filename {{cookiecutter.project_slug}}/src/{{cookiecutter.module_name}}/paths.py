"""Files the stages exchange. dvc.yaml declares the same paths as deps/outs."""
from pathlib import Path

PREPARED_DIR = Path("data/prepared")
TRAIN_CSV = PREPARED_DIR / "train.csv"
TEST_CSV = PREPARED_DIR / "test.csv"

FEATURES_DIR = Path("data/features")
TRAIN_FEATURES = FEATURES_DIR / "train.csv"

MODELS_DIR = Path("models")
FEATURIZER = MODELS_DIR / "featurizer.joblib"
MODEL = MODELS_DIR / "model.joblib"
SCHEMA = MODELS_DIR / "schema.json"
REFERENCE_PROFILE = MODELS_DIR / "reference_profile.json"
ONNX_MODEL = MODELS_DIR / "model.onnx"
ONNX_CHECK = MODELS_DIR / "onnx_check.json"

METRICS = Path("metrics.json")
PLOTS_DIR = Path("plots")
ROC_PLOT = PLOTS_DIR / "roc.json"
PRECISION_RECALL_PLOT = PLOTS_DIR / "precision_recall.json"
CONFUSION_PLOT = PLOTS_DIR / "confusion.json"
