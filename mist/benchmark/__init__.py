"""The benchmark suite: mist against classical and neural estimators on exact-MI cases (accuracy, calibration, speed)."""

from mist.benchmark.cases import build_cases
from mist.benchmark.config import BenchmarkConfig, load_config
from mist.benchmark.report import write_report
from mist.benchmark.runner import ResultsExist, plan_text, report_only, run_benchmark

__all__ = ["BenchmarkConfig", "load_config", "build_cases", "run_benchmark", "report_only", "plan_text",
           "write_report", "ResultsExist"]
