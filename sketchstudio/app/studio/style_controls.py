"""Style controls: a slider between two chosen styles, and a mixer with one slider per style.

Both emit `weights_changed(tuple)`: convex weights over the model's styles, while dragging.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QComboBox, QGridLayout, QHBoxLayout, QLabel, QSlider, QTabWidget, QVBoxLayout,
                               QWidget)

from ..messages import plain_label

STEPS = 100  # slider resolution


def _slider() -> QSlider:
    s = QSlider(Qt.Orientation.Horizontal)
    s.setRange(0, STEPS)
    s.setPageStep(10)
    return s


class StyleBlend(QWidget):
    """Two combo boxes and the slider between them."""

    weights_changed = Signal(object)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.styles: tuple[str, ...] = ()
        self.a, self.b = QComboBox(), QComboBox()
        self.a.setAccessibleName("First style")
        self.b.setAccessibleName("Second style")
        self.slider = _slider()
        self.slider.setAccessibleName("Blend between the two styles")
        self.label = plain_label()  # style names come from the model file: never render them as HTML
        row = QHBoxLayout()
        row.addWidget(self.a, 1)
        row.addWidget(QLabel("→"))
        row.addWidget(self.b, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addLayout(row)
        lay.addWidget(self.slider)
        lay.addWidget(self.label)
        for w in (self.a, self.b):
            w.currentIndexChanged.connect(self._changed)
        self.slider.valueChanged.connect(self._changed)

    def set_styles(self, styles: tuple[str, ...]) -> None:
        self.styles = tuple(styles)
        for combo, index in ((self.a, 0), (self.b, min(1, len(styles) - 1))):
            combo.blockSignals(True)
            combo.clear()
            combo.addItems(list(styles))
            combo.setCurrentIndex(index)
            combo.blockSignals(False)
        self.slider.blockSignals(True)
        self.slider.setValue(0)
        self.slider.blockSignals(False)
        self._update_label()

    def weights(self) -> tuple[float, ...]:
        w = [0.0] * len(self.styles)
        if not w:
            return ()
        t = self.slider.value() / STEPS
        w[self.a.currentIndex()] += 1.0 - t
        w[self.b.currentIndex()] += t
        return tuple(w)

    def set_weights(self, weights) -> bool:
        """Show `weights` if at most two styles are used; False otherwise."""
        used = [i for i, w in enumerate(weights) if w > 1e-6]
        if len(used) > 2 or not used:
            return False
        a = used[0]
        b = used[1] if len(used) == 2 else self.b.currentIndex()
        t = weights[b] / (weights[a] + weights[b]) if b != a else 0.0
        for w, v in ((self.a, a), (self.b, b), (self.slider, round(t * STEPS))):
            w.blockSignals(True)
            (w.setValue if w is self.slider else w.setCurrentIndex)(v)
            w.blockSignals(False)
        self._update_label()
        return True

    def _changed(self) -> None:
        self._update_label()
        self.weights_changed.emit(self.weights())

    def _update_label(self) -> None:
        if not self.styles:
            self.label.setText("")
            return
        t = self.slider.value() / STEPS
        a, b = self.a.currentText(), self.b.currentText()
        self.label.setText(a if a == b else f"{1 - t:.0%} {a}  ·  {t:.0%} {b}")


class StyleMixer(QWidget):
    """One slider per style; the weights are the slider values normalised to sum to one."""

    weights_changed = Signal(object)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.styles: tuple[str, ...] = ()
        self.sliders: list[QSlider] = []
        self.percent: list[QLabel] = []
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(6, 6, 6, 6)

    def set_styles(self, styles: tuple[str, ...]) -> None:
        while self.grid.count():
            self.grid.takeAt(0).widget().deleteLater()
        self.styles, self.sliders, self.percent = tuple(styles), [], []
        for i, name in enumerate(styles):
            s, pct = _slider(), QLabel()
            s.setAccessibleName(f"Weight of {name}")
            s.setValue(STEPS if i == 0 else 0)
            s.valueChanged.connect(self._changed)
            pct.setMinimumWidth(36)
            pct.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.grid.addWidget(plain_label(name), i, 0)
            self.grid.addWidget(s, i, 1)
            self.grid.addWidget(pct, i, 2)
            self.sliders.append(s)
            self.percent.append(pct)
        self._update_labels()

    def weights(self) -> tuple[float, ...]:
        v = [s.value() for s in self.sliders]
        total = sum(v)
        return tuple(x / total for x in v) if total else ()

    def set_weights(self, weights) -> None:
        top = max(weights) if len(weights) else 0
        for s, w in zip(self.sliders, weights):
            s.blockSignals(True)
            s.setValue(round(STEPS * w / top) if top else 0)
            s.blockSignals(False)
        self._update_labels()

    def _changed(self) -> None:
        self._update_labels()
        w = self.weights()
        if w:  # all at zero: keep the last mix rather than emit nothing
            self.weights_changed.emit(w)

    def _update_labels(self) -> None:
        w = self.weights() or (0.0,) * len(self.sliders)
        for label, x in zip(self.percent, w):
            label.setText(f"{x:.0%}")


class StyleControls(QTabWidget):
    weights_changed = Signal(object)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.blend, self.mixer = StyleBlend(), StyleMixer()
        self.addTab(self.blend, "Blend two")
        self.addTab(self.mixer, "Mix all")
        self.blend.weights_changed.connect(self.weights_changed)
        self.mixer.weights_changed.connect(self.weights_changed)
        self.currentChanged.connect(lambda _: self.weights() and self.weights_changed.emit(self.weights()))

    def set_styles(self, styles: tuple[str, ...]) -> None:
        self.blend.set_styles(styles)
        self.mixer.set_styles(styles)
        self.setTabVisible(1, len(styles) >= 3)  # two styles are what the blend slider is for
        self.blockSignals(True)
        self.setCurrentIndex(0)
        self.blockSignals(False)

    def weights(self) -> tuple[float, ...]:
        return (self.mixer if self.currentIndex() == 1 else self.blend).weights()

    def set_weights(self, weights) -> None:
        """Show `weights` without emitting: in the blend when two styles or fewer are used."""
        self.mixer.set_weights(weights)
        self.blockSignals(True)
        self.setCurrentIndex(0 if self.blend.set_weights(weights) else 1)
        self.blockSignals(False)

    def select(self, name: str) -> None:
        """Pick one style by name (the self-test drives the GUI through this)."""
        i = self.blend.styles.index(name)
        self.setCurrentIndex(0)
        self.blend.slider.setValue(0)
        self.blend.a.setCurrentIndex(i)
