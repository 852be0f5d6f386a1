"""Write models/cards/damage-detector.md and its contact sheets from the manifest entry, the training log and the
benchmark's sheets.

    python -m llmvis_studio.training.damage_card [--models models] [--runs runs] [--sheets runs/real_damage]
    python -m llmvis_studio.training.damage_card --model-id damage-detector-fast --sheets runs/real_damage_fast

`samples_sheet` draws the training-sample contact sheet (damaged print | label in red) from fixed seeds over the
training photos, so the card shows exactly what the detector learned from.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

from llmvis_studio.training import export, print_damage
from llmvis_studio.training.model_card import _cpu, log_facts
from llmvis_studio.training.train_damage import MODEL_ID, load_photo, photo_root, split_photos

SAMPLES_PNG = f"{MODEL_ID}-samples.png"
RESTORE_PNG = f"{MODEL_ID}-restore.png"


def _save_small(path: Path, rgb: np.ndarray, max_width: int = 1024) -> None:
    """Cards live in the repository: keep sheets about a megabyte or less."""
    h, w = rgb.shape[:2]
    if w > max_width:
        rgb = cv2.resize(rgb, (max_width, round(h * max_width / w)), interpolation=cv2.INTER_AREA)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])


def samples_sheet(path: Path, count: int = 8, size: int = 224, seed: int = 12) -> Path:
    train, _ = split_photos(photo_root())
    rng = np.random.default_rng(seed)
    tiles = []
    for _ in range(count):
        photo = load_photo(train[int(rng.integers(len(train)))])
        x, y = print_damage.make_sample(rng, photo, size, clean_share=0.0)
        img = np.clip(np.round(x * 255), 0, 255).astype(np.uint8)
        overlay = img.copy()
        overlay[y > 0] = (255, 0, 0)
        tiles.append(np.concatenate([img, overlay], 1))
    rows = [np.concatenate(tiles[i : i + 2], 1) for i in range(0, count, 2)]
    _save_small(path, np.concatenate(rows, 0))
    return path


def _prf(d: dict) -> str:
    return f"{d.get('precision')} / {d.get('recall')} / {d.get('f1')}"


def _table(metrics: dict) -> str:
    lines = ["| metric | value |", "|---|---|"]
    for k, v in metrics.items():
        lines.append(f"| {k} | {json.dumps(v) if isinstance(v, (dict, list)) else v} |")
    return "\n".join(lines)


def _last_json(path: Path) -> dict:
    if not path.exists():
        return {}
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.startswith("{")]
    return json.loads(lines[-1]) if lines else {}


REPLACED = (
    " Since then its distilled student `damage-detector-fast` (half the network work) found more on the same held-out"
    " photos and replaced it (and its int8 copy) as the default: see that model's card; `--model damage-detector`"
    " still selects this one."
)


def status(m: dict, v1: dict, heldout: dict, default: bool, replaced: bool = False) -> str:
    """The honest comparison with the old detector, from the benchmark runs (Set5/Set14: reporting; held-out
    training photos: the decision)."""
    prints, thin = (
        m.get("set5_set14_synthetic_prints_1px_tolerance", {}),
        m.get("set5_set14_thin_scratches_1px_tolerance", {}),
    )
    old_p, old_t = v1.get("synthetic_prints", {}), v1.get("thin", {}).get("all", {})
    new_h, old_h = (heldout.get("models", {}).get(k, {}) for k in (MODEL_ID, "scratch-detector"))
    passed = (
        "It finds far more print damage than `scratch-detector`, meets the thin-scratch bar (F1 ≥ 0.85) and keeps "
        "clean photos under 0.5 % marked on average on the held-out photos, so it (its int8 copy on the CPU) "
        f"{'became' if replaced else 'is'} the default for `detect-scratches`, `restore` and Mask ▸ Auto-mask Damage "
        "(`--model scratch-detector` still selects the old one)."
    )
    verdict = (
        passed + REPLACED
        if replaced
        else passed
        if default
        else "It does not pass the decision check below (more print damage found than `scratch-detector`, thin "
        "scratches F1 ≥ 0.85, clean photos ≤ 0.5 % marked on average), so `scratch-detector` stays the default; use "
        "this model with `--model damage-detector`."
    )
    return f"""## Status: {"the default detector" if default else "replaced by its student" if replaced else "not the default"}
{verdict}

Decision check (`benchmarks/damage_heldout.py`, the {heldout.get("photos", "?")} held-out training photos, longest
side ≤ {heldout.get("max_side", "?")} px, the old detector's thin-scratch protocol; clean = each photo and its old-print look):

| held-out photos | damage-detector (this) | scratch-detector |
|---|---|---|
| thin scratches P / R / F1 | {_prf(new_h.get("thin", {}))} | {_prf(old_h.get("thin", {}))} |
| clean photos marked (mean / worst photo) | {new_h.get("clean_marked_fraction")} / {new_h.get("clean_worst_photo_fraction")} | {old_h.get("clean_marked_fraction")} / {old_h.get("clean_worst_photo_fraction")} |
| synthetic prints P / R / F1 | {_prf(new_h.get("prints", {}))} | {_prf(old_h.get("prints", {}))} |
| marked area / reference area (prints) | {new_h.get("prints", {}).get("marked_over_reference_area")} | {old_h.get("prints", {}).get("marked_over_reference_area")} |

Reporting only (`benchmarks/real_damage.py`, Set5 + Set14, sensitivity 0.5):

| Set5+Set14 | damage-detector (this) | scratch-detector |
|---|---|---|
| synthetic prints P / R / F1 | {prints.get("precision")} / {prints.get("recall")} / {prints.get("f1")} | {old_p.get("precision")} / {old_p.get("recall")} / {old_p.get("f1")} |
| marked area / reference area | {prints.get("marked_over_reference_area")} | {old_p.get("marked_over_reference_area")} |
| crack contrast removed by restore | {prints.get("crack_contrast_removed")} | {old_p.get("crack_contrast_removed")} |
| clean photos + clean old-print looks, marked | {prints.get("clean_marked_fraction")} | {old_p.get("clean_marked_fraction")} |
| thin scratches (old protocol) F1 | {thin.get("f1")} | {old_t.get("f1")} |
"""


def copy_restore_sheet(sheets: Path, target: Path) -> None:
    """The benchmark's before | mask | after sheet of synthetic prints, its first four rows, made small for the card."""
    source = sheets / "prints_before_mask_after.png"
    if source.exists():
        sheet = cv2.cvtColor(cv2.imread(str(source)), cv2.COLOR_BGR2RGB)
        _save_small(target, sheet[: 4 * sheet.shape[1] // 3], max_width=600)


def file_facts(entry: dict, default: bool) -> dict:
    """The card's header values from the manifest entry."""
    return {
        "model_id": entry["id"],
        "default_note": " (the default)" if default else " (not the default, see Status)",
        "stride": entry["stride"],
        "file": entry["file"],
        "sha256": entry["sha256"],
        "parameters": f"{entry['parameters']:,}",
        "licence": entry["licence"],
    }


def int8_entry(models: Path) -> dict:
    try:
        return export.manifest_entry_of(models, f"{MODEL_ID}-int8")
    except StopIteration:
        return {}


def int8_metrics(models: Path) -> dict:
    return int8_entry(models).get("metrics", {})


def is_default(models: Path, entry: dict) -> bool:
    """The default detector is this model or, on the CPU, its int8 copy (quantize_detector takes over the flag)."""
    return bool(entry.get("default") or int8_entry(models).get("default"))


def write_card(models: Path, runs: Path, sheets: Path) -> Path:
    entry = export.manifest_entry_of(models, MODEL_ID)
    stage1, stage2 = log_facts(runs / "damage" / "train.log"), log_facts(runs / "damage2" / "train.log")
    cards = models / "cards"
    samples_sheet(cards / SAMPLES_PNG)
    copy_restore_sheet(sheets, cards / RESTORE_PNG)
    m = entry.get("metrics", {})
    cal = m.get("heldout_calibration", {})
    v1 = _last_json(runs / "real_damage_v1.log")
    heldout = _last_json(runs / "damage_heldout.log")
    default = is_default(models, entry)
    arch = entry.get("arch", "DamageNet")
    values = {
        **file_facts(entry, default),
        "status": status(m, v1, heldout, default, _student_is_default(models)),
        "platt": cal.get("platt"),
        "clean_budget": cal.get("clean_budget"),
        "baked": cal.get("baked"),
        "f1_by_sensitivity": json.dumps(cal.get("f1_by_sensitivity")),
        "by_kind": json.dumps(cal.get("at_sensitivity_0.5_by_kind")),
        "arch": arch,
        "timing": json.dumps(int8_metrics(models).get("restore_4000x3000_2_threads")),
        "samples_png": SAMPLES_PNG,
        "restore_png": RESTORE_PNG,
        "steps1": stage1.get("steps", "?"),
        "minutes1": stage1.get("minutes", "?"),
        "it_s1": stage1.get("it_s", "?"),
        "steps2": stage2.get("steps", "?"),
        "minutes2": stage2.get("minutes", "?"),
        "it_s2": stage2.get("it_s", "?"),
        "cpu": _cpu(),
        "table": _table(m),
    }
    text = (Path(__file__).parent / "card_templates" / f"{MODEL_ID}.md").read_text(encoding="utf-8").format(**values)
    return export.write_card(models, MODEL_ID, text)


STUDENT_ID = "damage-detector-fast"


def student_status(heldout: dict, default: bool) -> str:
    """The student against the detector it would replace, from damage_heldout.py (its --rule in the log)."""
    (new_id, new), (old_id, old) = list(heldout.get("models", {}).items())[:2] or [("?", {}), ("?", {})]
    rule = heldout.get("rule", "?")
    verdict = (
        f"It passes the decision check below against `{old_id}` (`--rule {rule}`: finds more print damage, meets the "
        "thin-scratch bar F1 ≥ 0.85 and keeps clean photos under 0.5 % marked on average), in about half the network "
        "work, so it is the default for `detect-scratches`, `restore` and Mask ▸ Auto-mask Damage on every CPU "
        f"(`--model {old_id}` still selects the teacher's int8 copy)."
        if default
        else f"It does not pass the decision check below, so `{old_id}` stays the default."
    )
    rows = [
        ("synthetic prints P / R / F1", _prf(new.get("prints", {})), _prf(old.get("prints", {}))),
        ("marked area / reference area (prints)", *(d.get("prints", {}).get("marked_over_reference_area") for d in (new, old))),
        ("`restore`: crack contrast removed", *(d.get("prints", {}).get("restore_crack_contrast_removed") for d in (new, old))),
        ("thin scratches P / R / F1", _prf(new.get("thin", {})), _prf(old.get("thin", {}))),
        ("light / dark thin scratches F1", *(f"{d.get('light', {}).get('f1')} / {d.get('dark', {}).get('f1')}" for d in (new, old))),
        ("clean photos marked (mean / worst photo)",
         *(f"{d.get('clean_marked_fraction')} / {d.get('clean_worst_photo_fraction')}" for d in (new, old))),
        ("benchmark seconds (all of the above)", new.get("seconds"), old.get("seconds")),
    ]  # fmt: skip
    table = "\n".join(f"| {name} | {a} | {b} |" for name, a, b in rows)
    return f"""## Status: {"the default detector" if default else "not the default"}
{verdict}

Decision check (`benchmarks/damage_heldout.py --rule {rule}`, the rule fixed before measuring; the
{heldout.get("photos", "?")} held-out training photos, longest side ≤ {heldout.get("max_side", "?")} px,
sensitivity 0.5, 1 px tolerance):

| held-out photos | {new_id} (this) | {old_id} |
|---|---|---|
{table}
"""


def _student_is_default(models: Path) -> bool:
    try:
        return bool(export.manifest_entry_of(models, STUDENT_ID).get("default"))
    except StopIteration:
        return False


def _speed_table(by_cpu: dict) -> str:
    """The 12-MP restore's wall seconds, one row per CPU kind and detector (several rounds: the best)."""
    lines = ["| CPU | detector | restore 4000×3000, wall s |", "|---|---|---|"]
    for cpu, runs in by_cpu.items():
        for model_id, wall in runs.items():
            lines.append(f"| {cpu} | {model_id} | {min(wall) if isinstance(wall, list) else wall} |")
    return "\n".join(lines)


def write_student_card(models: Path, runs: Path, sheets: Path, model_id: str = STUDENT_ID) -> Path:
    """The distilled student's card: its own decision check, calibration, stages and sheet; the rest is the teacher's."""
    entry = export.manifest_entry_of(models, model_id)
    m, restore_png = entry.get("metrics", {}), f"{model_id}-restore.png"
    cal = m.get("heldout_calibration", {})
    copy_restore_sheet(sheets, models / "cards" / restore_png)
    default = bool(entry.get("default"))
    values = {
        **file_facts(entry, default),
        "widths": "/".join(str(w) for w in entry.get("widths", [])),
        "status": student_status(_last_json(runs / "damage_heldout_fast.log"), default),
        "speed": _speed_table(m.get("restore_4000x3000_wall_s_by_cpu", {})),
        "speed_note": m.get("restore_speed_note", ""),
        "platt": cal.get("platt"),
        "baked": cal.get("baked"),
        "teacher_pixels": cal.get("matched_operating_point", {}).get("teacher_marked_pixels"),
        "f1_by_sensitivity": json.dumps(cal.get("f1_by_sensitivity")),
        "by_kind": json.dumps(cal.get("at_sensitivity_0.5_by_kind")),
        "samples_png": SAMPLES_PNG,
        "restore_png": restore_png,
        "stages": "\n- ".join(m.get("stages", ["(no stages recorded)"])),
        "reproduce": entry.get("reproduce_command", "").replace(" && ", "\n"),
        "shipped_note": m.get("shipped_note", ""),
        "table": _table(
            {
                k: v
                for k, v in m.items()
                if k not in ("stages", "shipped_note", "restore_4000x3000_wall_s_by_cpu", "restore_speed_note")
            }
        ),
    }
    text = (Path(__file__).parent / "card_templates" / f"{STUDENT_ID}.md").read_text(encoding="utf-8").format(**values)
    return export.write_card(models, model_id, text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--models", type=Path, default=Path("models"))
    ap.add_argument("--runs", type=Path, default=Path("runs"))
    ap.add_argument("--sheets", type=Path, default=Path("runs/real_damage"))
    ap.add_argument("--model-id", default=MODEL_ID, choices=[MODEL_ID, STUDENT_ID])
    a = ap.parse_args(argv)
    if a.model_id == STUDENT_ID:
        print(write_student_card(a.models, a.runs, a.sheets))
    else:
        print(write_card(a.models, a.runs, a.sheets))
    return 0


if __name__ == "__main__":
    sys.exit(main())
