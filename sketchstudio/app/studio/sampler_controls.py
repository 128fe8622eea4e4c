"""Decoding settings: steps, temperature, the two guidance scales, the seed (locked or new)."""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QCheckBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QPushButton, QSpinBox,
                               QWidget)

from ...core.sampler_settings import SamplerSettings

MAX_SEED = 2**31 - 1


def _double(lo: float, hi: float, step: float, tip: str) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(lo, hi)
    box.setSingleStep(step)
    box.setDecimals(2)
    box.setToolTip(tip)
    return box


class SamplerControls(QWidget):
    changed = Signal(object)  # SamplerSettings
    new_seed_requested = Signal()
    lock_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._base = SamplerSettings()  # keeps the fields not shown here (schedule, noise, top_k)
        self.steps = QSpinBox()
        self.steps.setRange(1, 64)
        self.steps.setToolTip("Decoding steps: more steps, more careful sketches, slower")
        self.temperature = _double(0.0, 3.0, 0.1, "Token sampling temperature (0 = always the likeliest token)")
        self.self_guidance = _double(0.0, 10.0, 0.25, "Self-guidance scale (sharper, more decisive lines)")
        self.style_guidance = _double(0.0, 10.0, 0.25, "Style guidance scale (stronger style; doubles the work)")
        self.seed = QSpinBox()
        self.seed.setRange(0, MAX_SEED)
        self.seed.setToolTip("Random seed: the same seed and settings give the same sketch")
        self.lock = QCheckBox("Lock")
        self.lock.setChecked(True)
        self.lock.setToolTip("Keep this seed for new photos (unlocked: a new seed for every photo)")
        self.new = QPushButton("New seed")
        seed_row = QHBoxLayout()
        seed_row.setContentsMargins(0, 0, 0, 0)
        seed_row.addWidget(self.seed, 1)
        seed_row.addWidget(self.lock)
        seed_row.addWidget(self.new)
        form = QFormLayout(self)
        form.setContentsMargins(6, 6, 6, 6)
        form.addRow("Steps", self.steps)
        form.addRow("Temperature", self.temperature)
        form.addRow("Self-guidance", self.self_guidance)
        form.addRow("Style guidance", self.style_guidance)
        form.addRow("Seed", seed_row)
        self.set_settings(self._base)
        for box in (self.steps, self.temperature, self.self_guidance, self.style_guidance, self.seed):
            box.valueChanged.connect(self._changed)
        self.new.clicked.connect(self.new_seed_requested)
        self.lock.toggled.connect(self.lock_changed)

    def settings(self) -> SamplerSettings:
        return self._base.with_(
            steps=self.steps.value(), temperature=round(self.temperature.value(), 4),
            self_guidance=round(self.self_guidance.value(), 4),
            style_guidance=round(self.style_guidance.value(), 4), seed=self.seed.value(),
        )

    def set_settings(self, s: SamplerSettings) -> None:
        """Show `s` without emitting `changed`."""
        self._base = s
        for box, value in ((self.steps, s.steps), (self.temperature, s.temperature),
                           (self.self_guidance, s.self_guidance), (self.style_guidance, s.style_guidance),
                           (self.seed, min(s.seed, MAX_SEED))):
            box.blockSignals(True)
            box.setValue(value)
            box.blockSignals(False)

    def _changed(self) -> None:
        self._base = self.settings()
        self.changed.emit(self._base)
