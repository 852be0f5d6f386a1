# Two commands matter: `make run` and `make test`. Each creates .venv and installs what it needs.
.PHONY: run test lint format lock models models-demo-gan models-inpaint benchmarks clean system-deps package package-cpu \
        training-data models-sr models-sr-int8 models-detect-int8 models-denoise models-damage models-damage-fast models-colourize models-scan-sr
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ARGS ?= resources/sample.png
PYTEST_ARGS ?=
# Test files run on this many processes (pytest-xdist; one file stays on one worker, so module fixtures such as the
# installer bundle are built once). 2 matches the 2-core CI machine; PYTEST_WORKERS=0 runs everything in one process.
PYTEST_WORKERS ?= 2
LOCK := requirements
# Installs come from the lock files (exact versions, sha256-checked, no resolver at install time): a fresh clone next
# month installs what passed today. `make lock` refreshes them.
PIP_LOCKED := $(BIN)/pip install -q --require-hashes --no-deps

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Runtime only: the editor never needs torch.
$(VENV)/.runtime-installed: pyproject.toml $(LOCK)/runtime.lock | $(BIN)/python
	$(PIP_LOCKED) -r $(LOCK)/runtime.lock
	$(BIN)/pip install -q --no-deps -e .
	touch $@

# Tests also exercise the training and export code, so they need the train extra; the pip packages that ship
# pretrained weights (weights.lock) are export-time only.
$(VENV)/.test-installed: pyproject.toml requirements.txt $(LOCK)/weights.lock | $(BIN)/python
	$(PIP_LOCKED) -r requirements.txt
	$(PIP_LOCKED) -r $(LOCK)/weights.lock
	$(BIN)/pip install -q --no-deps -e .
	touch $(VENV)/.runtime-installed $@

lock:
	PYTHON=$(PYTHON) bash scripts/lock.sh

system-deps:
	@bash scripts/system-deps.sh

run: $(VENV)/.runtime-installed system-deps
	$(BIN)/llmvis-studio $(ARGS)

# Import contracts, lint (ruff check), formatting (ruff format --check; `make format` applies it) and types (mypy)
# on the packages the editor runs on. tests/unit/test_code_structure.py checks the size limits.
MYPY_PACKAGES := llmvis_studio/core llmvis_studio/engine llmvis_studio/files llmvis_studio/catalog llmvis_studio/worker
lint: $(VENV)/.test-installed
	$(BIN)/lint-imports
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy $(MYPY_PACKAGES)

format: $(VENV)/.test-installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: $(VENV)/.test-installed system-deps lint
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# Reproduce the converted models from their pinned pip packages (see models/cards/ and models/licences/).
# Order matters: the router is fitted on the exported encoder and the style presets.
models: $(VENV)/.test-installed
	$(BIN)/python -m llmvis_studio.training.convert_realesrgan --out models
	$(BIN)/python -m llmvis_studio.training.export_minilm --out models
	$(BIN)/python -m llmvis_studio.training.export_magenta_style --out models
	$(BIN)/python -m llmvis_studio.training.export_mask_models --out models
	$(BIN)/python -m llmvis_studio.training.fit_router --models models
	$(BIN)/python -m llmvis_studio.training.evaluate_router --models models

benchmarks: $(VENV)/.test-installed
	for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# The offline installer: dist/llmvis-studio/ and dist/llmvis-studio-<version>-linux-<arch>.tar.gz.
# build.sh makes its own runtime-only venv with PyInstaller (build/package-venv): .venv holds torch
# and the test extras, which must not end up in the bundle. See packaging/README.md.
package:
	PYTHON=$(PYTHON) bash packaging/build.sh

# The same without onnxruntime's CUDA/TensorRT providers (about 270 MiB smaller; CPU only).
package-cpu:
	LLMVIS_BUNDLE_CPU_ONLY=1 PYTHON=$(PYTHON) bash packaging/build.sh

clean:
	rm -rf $(VENV) build dist .pytest_cache

# The learned inpainting model (three stages) + scratch/dust detector (~4 h 40 min on 2 CPU threads; resumable from runs/), then the
# benchmark (Set5/Set14, reporting only) writes the metrics into the manifest, and the model cards.
models-inpaint: $(VENV)/.test-installed
	$(BIN)/python -m llmvis_studio.training.train_inpaint recipes inpaint inpaint-w48 inpaint-w48b scratch
	$(BIN)/python -m llmvis_studio.training.inpaint_defaults --write
	$(BIN)/python benchmarks/inpaint_quality.py --update-manifest
	$(BIN)/python -m llmvis_studio.training.inpaint_card
	$(MAKE) models-detect-int8

# The print-damage detector v2 (see its card for whether it is the default): 40 min on 2 CPU threads from
# scratch-detector's weights (runs/damage), then 70 min more from there with a fresh schedule and more weight on
# damage pixels (runs/damage2; both resumable), the default decision on held-out photos, then the Set5/Set14
# benchmark (reporting only), the card and the int8 copies.
models-damage: $(VENV)/.test-installed
	$(BIN)/python -m llmvis_studio.training.train_damage --arch CalibratedScratchNet --init models/scratch-detector.onnx --minutes 40 --batch 8 --warmup 20 --lr 1e-3 --precision fp32 --threads 2 --out runs/damage --resume
	$(BIN)/python -m llmvis_studio.training.train_damage --arch CalibratedScratchNet --init runs/damage/last.pt --minutes 70 --batch 8 --warmup 50 --lr 1e-3 --pos-weight 2.0 --precision fp32 --threads 2 --out runs/damage2 --resume --export models/damage-detector.onnx --manifest models/manifest.json
	$(BIN)/python benchmarks/damage_heldout.py --apply > runs/damage_heldout.log
	$(BIN)/python benchmarks/real_damage.py --update-manifest --sheets runs/real_damage
	$(BIN)/python -m llmvis_studio.training.damage_card
	$(MAKE) models-detect-int8

# The fast print-damage detector (damage-detector-fast, 8/24/48 channels, half the teacher's work per pixel): distilled
# from damage-detector in three stages (70 + 36 + 45 min on 2 CPU threads, resumable from runs/damage-fast*; the third
# with twice the thin-scratch samples), calibrated after stages 2 and 3 to mark as much of the damaged validation
# crops as its teacher, then the default decision against the teacher's int8 copy (benchmarks/damage_heldout.py
# --rule finds-more), the Set5/Set14 report and its card.
models-damage-fast: $(VENV)/.test-installed
	$(BIN)/python -m llmvis_studio.training.train_damage --arch CalibratedScratchNet --widths 8,24,48 --init models/damage-detector.onnx --teacher models/damage-detector.onnx --distill-weight 0.5 --minutes 70 --batch 8 --warmup 50 --lr 1e-3 --pos-weight 2.0 --precision fp32 --threads 2 --out runs/damage-fast --resume
	$(BIN)/python -m llmvis_studio.training.train_damage --arch CalibratedScratchNet --widths 8,24,48 --init runs/damage-fast/last.pt --teacher models/damage-detector.onnx --distill-weight 0.5 --minutes 36 --batch 8 --warmup 50 --lr 3e-4 --pos-weight 2.0 --precision fp32 --threads 2 --out runs/damage-fast2 --resume --export runs/damage-fast2/best-f1.onnx --model-id damage-detector-fast
	$(BIN)/python -m llmvis_studio.training.train_damage --calibrate-only --arch CalibratedScratchNet --widths 8,24,48 --init runs/damage-fast2/best-f1.onnx --teacher models/damage-detector.onnx --match-teacher-area --threads 2 --out runs/fast2-recal --export models/damage-detector-fast.onnx --model-id damage-detector-fast --manifest models/manifest.json
	$(BIN)/python -m llmvis_studio.training.train_damage --arch CalibratedScratchNet --widths 8,24,48 --init models/damage-detector-fast.onnx --teacher models/damage-detector.onnx --distill-weight 0.5 --minutes 45 --batch 8 --warmup 50 --lr 3e-4 --pos-weight 2.0 --precision auto --threads 2 --thin-share 0.2 --match-teacher-area --out runs/damage-fast3 --resume --export models/damage-detector-fast.onnx --model-id damage-detector-fast --manifest models/manifest.json
	$(BIN)/python benchmarks/damage_heldout.py --models damage-detector-fast damage-detector-int8 --rule finds-more --apply > runs/damage_heldout_fast.log
	$(BIN)/python benchmarks/real_damage.py --model damage-detector-fast --update-manifest --sheets runs/real_damage_fast
	$(BIN)/python -m llmvis_studio.training.damage_card --model-id damage-detector-fast --sheets runs/real_damage_fast

# The hint-guided colourizer (models/colourize-unet.onnx): 40 min regression training on 2 CPU threads, then 58 min
# fine-tuning with the colour-class head (rebalanced cross-entropy; wall-clock budgets, resumable from runs/), the
# decode picked on TUNE photos, the calibration table fitted on TUNE (reported on REPORT), the benchmark (Set5/Set14
# turned grey, reporting only) and the model card with contact sheet.
models-colourize: $(VENV)/.test-installed
	$(BIN)/python -m llmvis_studio.training.train_colourize --minutes 40 --threads 2 --out runs/colourize --fresh
	$(BIN)/python -m llmvis_studio.training.train_colourize --bins --init runs/colourize/checkpoint.pt --minutes 58 \
		--threads 2 --lr 1e-3 --val-every 20 --out runs/colourize_cls --fresh
	$(BIN)/python -m llmvis_studio.training.colourize_select --checkpoint runs/colourize_cls/checkpoint.pt \
		--out runs/colourize_cls/select.json --export models/colourize-unet.onnx
	$(BIN)/python -m llmvis_studio.training.colourize_tune --onnx models/colourize-unet.onnx --out runs/colourize_cls/tune.json
	$(BIN)/python -m llmvis_studio.training.colourize_card --runs runs/colourize_cls --no-sheet
	$(BIN)/python -m llmvis_studio.training.colourize_calibrate --onnx models/colourize-unet.onnx \
		--out runs/colourize_cls/calibration.json --select runs/colourize_cls/select.json --update-manifest
	$(BIN)/python benchmarks/colourize_quality.py --update-manifest
	$(BIN)/python -m llmvis_studio.training.colourize_card --runs runs/colourize_cls

# The demo texture generator (models/demo-textures-gan.onnx + card): ~9 min on 2 CPU threads.
models-demo-gan: $(VENV)/.test-installed
	$(BIN)/python -m llmvis_studio.training.demo_textures --steps 3600 --width 48 --threads 2 --ms-weight 0.1

# Training photos for the restoration models: Debian's photographic wallpapers (plus images bundled in pip packages).
training-data:
	@if [ "$$(id -u)" -eq 0 ]; then apt-get install -y -qq plasma-workspace-wallpapers mate-backgrounds >/dev/null; \
	else sudo apt-get install -y -qq plasma-workspace-wallpapers mate-backgrounds >/dev/null; fi

# Compact ×4 and ×2 super-resolution (~8 h on one or two CPU threads; wall-clock budgets, resumable from runs/): ×4
# on the wallpapers, then fine-tuned on the shared photo pack (../shared/training/photos) plus the wallpapers in two
# stages (75 + 100 min); ×2 from ×4, then fine-tuned on the photo pack the same way in three stages (45 + 90 + 120 min).
models-sr: $(VENV)/.test-installed training-data
	$(BIN)/python -m llmvis_studio.training.recipes sr-x4 sr-x4-pack sr-x4-pack2 sr-x2 sr-x2-pack sr-x2-pack2 sr-x2-pack3 --fresh
	$(MAKE) models-sr-int8
	$(BIN)/python benchmarks/sr_quality.py --update-manifest
	$(BIN)/python benchmarks/sr_heldout.py --update-manifest
	$(BIN)/python -m llmvis_studio.training.model_card sr-compact-x4 sr-compact-x2

# The int8 copy of the ×4 net that the CPU runs by default (a minute; calibrated on training photos).
models-sr-int8: $(VENV)/.test-installed
	$(BIN)/python -m llmvis_studio.training.quantize_sr --source sr-compact-x4 --models models

# int8 copies of the detectors (a minute each; calibrated on damaged training crops); each takes over its source's
# default flag, so the CPU runs the int8 copy of whichever detector damage_heldout.py chose.
models-detect-int8: $(VENV)/.test-installed
	$(BIN)/python -m llmvis_studio.training.quantize_detector --source scratch-detector --default --models models
	$(BIN)/python -m llmvis_studio.training.quantize_detector --source damage-detector --default --models models

# The blind denoiser: a 25-minute stage and four fine-tuning stages, then six on the shared photo pack (~7 h 5 min in all).
models-denoise: $(VENV)/.test-installed training-data
	$(BIN)/python -m llmvis_studio.training.recipes denoise denoise-ft denoise-ft2 denoise-ft3 denoise-ft4 denoise-pack denoise-pack2 denoise-pack3 denoise-pack4 denoise-pack5 denoise-pack6 --fresh
	$(BIN)/python benchmarks/denoise_quality.py --update-manifest
	$(BIN)/python benchmarks/denoise_heldout.py --update-manifest
	$(BIN)/python -m llmvis_studio.training.model_card denoise-compact

# The scan / photo upscalers (sr-scan-x4, sr-scan-x2): the compact nets fine-tuned as a small GAN on realistic
# degradations (training/degrade.py) from the faithful models; 12 + 11 min of training (wall-clock budgets,
# resumable from runs/scan-x4, runs/scan-x2; the shipped models ran side by side, one thread each), then the
# benchmark (Set5, reporting only; speed vs realesrgan-x4plus) and the card with its before/after sheet.
SCAN_SR := $(BIN)/python -m llmvis_studio.training.train_scan_sr --threads 1 --resume --val-every 100 --manifest models/manifest.json
models-scan-sr: $(VENV)/.test-installed
	$(SCAN_SR) --scale 4 --minutes 12 --out runs/scan-x4 --init models/sr-compact-x4.onnx --export models/sr-scan-x4.onnx
	$(SCAN_SR) --scale 2 --minutes 11 --patch 64 --out runs/scan-x2 --init models/sr-compact-x2.onnx --export models/sr-scan-x2.onnx
	$(BIN)/python benchmarks/scan_sr.py --update-manifest
	$(BIN)/python -m llmvis_studio.training.scan_sr_card
