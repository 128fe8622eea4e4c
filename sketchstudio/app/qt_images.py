"""numpy / PIL <-> QImage, always copying (a QImage must not outlive the buffer it wraps)."""
from __future__ import annotations

import numpy as np
from PIL import Image
from PySide6.QtGui import QImage


def qimage_from_array(a: np.ndarray) -> QImage:
    """(H, W) uint8 greyscale or (H, W, 3) uint8 RGB -> QImage."""
    a = np.ascontiguousarray(a, dtype=np.uint8)
    h, w = a.shape[:2]
    if a.ndim == 2:
        return QImage(a.data, w, h, a.strides[0], QImage.Format.Format_Grayscale8).copy()
    if a.ndim == 3 and a.shape[2] == 3:
        return QImage(a.data, w, h, a.strides[0], QImage.Format.Format_RGB888).copy()
    raise ValueError(f"cannot show an array of shape {a.shape}")


def qimage_from_pil(im: Image.Image) -> QImage:
    return qimage_from_array(np.asarray(im.convert("L" if im.mode == "L" else "RGB")))


def array_from_qimage(q: QImage) -> np.ndarray:
    """QImage (any format) -> (H, W, 3) uint8 RGB."""
    q = q.convertToFormat(QImage.Format.Format_RGB888)
    w, h, stride = q.width(), q.height(), q.bytesPerLine()
    buf = np.frombuffer(q.constBits(), dtype=np.uint8, count=stride * h).reshape(h, stride)
    return buf[:, : w * 3].reshape(h, w, 3).copy()


def pil_from_qimage(q: QImage) -> Image.Image:
    return Image.fromarray(array_from_qimage(q), "RGB")
