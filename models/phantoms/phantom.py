"""Synthetic four-phase abdominal T1 MR volumes (non-contrast, arterial, portal venous, delayed).

Anatomy is built in millimetres on an axial LPS grid, so the same patient can be rendered at any
matrix. Tissues get a label; each phase maps labels to signal through a per-phantom table (the
tumour's entries come from its imaging features), then a smooth bias field, per-scanner gain/offset
and Rician noise are applied. All randomness comes from the numpy Generator passed in.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from risk import TumourFeatures

AIR, FAT, MUSCLE, LIVER, SPLEEN, KIDNEY, AORTA, PORTAL, BONE, TUMOUR, RIM, HALO, HEPVEIN = range(13)
N_LABELS = 13
PHASES = ("non-contrast", "arterial", "portal-venous", "delayed")
VERSION = 2  # bump when the rendering changes: training caches are keyed by it

# Signal per label and phase (arbitrary units, fat-suppressed T1 gradient echo, extracellular gadolinium).
_BASE = np.zeros((N_LABELS, 4), dtype=np.float64)
_BASE[AIR] = (0, 0, 0, 0)
_BASE[FAT] = (110, 115, 120, 120)
_BASE[MUSCLE] = (260, 300, 380, 360)
_BASE[LIVER] = (420, 480, 700, 640)
_BASE[SPLEEN] = (330, 760, 680, 600)
_BASE[KIDNEY] = (360, 950, 820, 720)
_BASE[AORTA] = (150, 1500, 760, 560)
_BASE[PORTAL] = (150, 480, 920, 660)
_BASE[HEPVEIN] = (150, 190, 860, 650)
_BASE[BONE] = (380, 400, 450, 440)


@dataclass(frozen=True)
class Grid:
    nz: int = 48
    ny: int = 128
    nx: int = 128
    dz: float = 5.0
    dy: float = 3.0
    dx: float = 3.0

    def origin(self) -> tuple[float, float, float]:
        """LPS position (x, y, z) of voxel (k=0, i=0, j=0): the grid is centred on the origin."""
        return (-(self.nx - 1) / 2 * self.dx, -(self.ny - 1) / 2 * self.dy, -(self.nz - 1) / 2 * self.dz)

    def axes(self):
        x0, y0, z0 = self.origin()
        # float32 halves the memory traffic of the full-grid shape tests
        z = (z0 + np.arange(self.nz) * self.dz).reshape(-1, 1, 1).astype(np.float32)
        y = (y0 + np.arange(self.ny) * self.dy).reshape(1, -1, 1).astype(np.float32)
        x = (x0 + np.arange(self.nx) * self.dx).reshape(1, 1, -1).astype(np.float32)
        return z, y, x


@dataclass(frozen=True)
class Scanner:
    gain: float
    offset: float
    noise: float            # noise sigma as a fraction of native liver signal
    arterial_timing: float  # 1 = ideal late arterial; <1 early, washes enhancement out
    bias: tuple[float, float, float]
    rescale_slope: float | None
    rescale_intercept: float | None
    name: str


def sample_scanner(rng: np.random.Generator) -> Scanner:
    vendor = int(rng.integers(0, 3))
    slope = intercept = None
    if vendor == 2:  # this "vendor" stores with a rescale, as Philips MR does
        slope = float(np.round(rng.uniform(1.2, 2.5), 4))
        intercept = float(rng.choice([0.0, -20.0]))
    return Scanner(
        gain=float(rng.uniform(0.6, 1.8)),
        offset=float(rng.uniform(-30, 120)),
        noise=float(rng.uniform(0.02, 0.07)),
        arterial_timing=float(rng.uniform(0.8, 1.1)),
        bias=(float(rng.normal(0, 0.0015)), float(rng.normal(0, 0.0015)), float(rng.normal(0, 0.001))),
        rescale_slope=slope,
        rescale_intercept=intercept,
        name=("PhantomScan Alpha", "PhantomScan Beta", "PhantomScan Gamma")[vendor],
    )


def _ellipsoid(z, y, x, c, r):
    return ((x - c[0]) / r[0]) ** 2 + ((y - c[1]) / r[1]) ** 2 + ((z - c[2]) / r[2]) ** 2 <= 1.0


def _tube(labels, z, y, x, p0, p1, radius, value, within=None):
    """Paints a cylinder of `radius` mm around the segment p0-p1 (x, y, z in mm)."""
    p0, p1 = np.asarray(p0, float), np.asarray(p1, float)
    d = p1 - p0
    L2 = float(d @ d)
    t = ((x - p0[0]) * d[0] + (y - p0[1]) * d[1] + (z - p0[2]) * d[2]) / L2
    t = np.clip(t, 0.0, 1.0)
    dist2 = (x - p0[0] - t * d[0]) ** 2 + (y - p0[1] - t * d[1]) ** 2 + (z - p0[2] - t * d[2]) ** 2
    m = dist2 <= radius * radius
    if within is not None:
        m &= np.isin(labels, within)
    labels[m] = value


@dataclass
class Anatomy:
    liver_c: tuple[float, float, float]
    liver_r: tuple[float, float, float]
    body_r: tuple[float, float]
    shift: tuple[float, float]


def sample_anatomy(rng: np.random.Generator) -> Anatomy:
    s = rng.uniform(0.9, 1.08)
    return Anatomy(
        liver_c=(-65 + rng.normal(0, 5), -5 + rng.normal(0, 5), 20 + rng.normal(0, 6)),
        liver_r=(92 * s, 78 * s, 78 * s),
        body_r=(160 * rng.uniform(0.9, 1.1), 112 * rng.uniform(0.9, 1.1)),
        shift=(rng.normal(0, 4), rng.normal(0, 4)),
    )


@dataclass
class TumourPlacement:
    centre: tuple[float, float, float]
    radius: float
    lobes: np.ndarray      # (n, 3) unit vectors of margin bumps
    lobe_sign: np.ndarray  # (n,)
    halo_dir: np.ndarray   # unit vector of the peritumoural enhancement wedge
    satellites: list       # [(centre, radius)]


def place_tumours(rng: np.random.Generator, anat: Anatomy, t: TumourFeatures) -> list[TumourPlacement]:
    out = []
    lc, lr = np.array(anat.liver_c), np.array(anat.liver_r)
    for n in range(t.count):
        diam = t.size_cm * 10 if n == 0 else float(rng.uniform(10, min(t.size_cm, 3.0) * 10))
        r = diam / 2
        for _ in range(200):
            u = rng.normal(size=3)
            u /= np.linalg.norm(u)
            frac = rng.uniform(0, 1) ** (1 / 3)
            c = lc + u * frac * lr
            # keep the tumour well inside the ellipsoidal liver and away from the others
            margin = np.sqrt(np.sum(((c - lc) / (lr - r - 8).clip(5)) ** 2))
            if margin <= 1 and all(np.linalg.norm(c - np.array(o.centre)) > r + o.radius + 10 for o in out):
                break
        n_lobes = 6
        lobes = rng.normal(size=(n_lobes, 3))
        lobes /= np.linalg.norm(lobes, axis=1, keepdims=True)
        signs = np.where(rng.random(n_lobes) < 0.6, 1.0, -0.7)
        hd = rng.normal(size=3)
        hd /= np.linalg.norm(hd)
        sats = []
        if n == 0:
            for _ in range(t.satellites):
                v = rng.normal(size=3)
                v /= np.linalg.norm(v)
                sats.append((tuple(c + v * (r * (1 + 0.45 * t.margin) + rng.uniform(5, 12))), float(rng.uniform(4.0, 7.0))))
        out.append(TumourPlacement(tuple(float(a) for a in c), float(r), lobes, signs, hd, sats))
    return out


def _bbox(grid: Grid, c, reach):
    x0, y0, z0 = grid.origin()
    def rng_(centre, o, d, n):
        lo = int(np.floor((centre - reach - o) / d))
        hi = int(np.ceil((centre + reach - o) / d)) + 1
        return slice(max(lo, 0), max(min(hi, n), 0))
    return (rng_(c[2], z0, grid.dz, grid.nz), rng_(c[1], y0, grid.dy, grid.ny), rng_(c[0], x0, grid.dx, grid.nx))


def build_labels(grid: Grid, anat: Anatomy, t: TumourFeatures, tumours: list[TumourPlacement]) -> np.ndarray:
    z, y, x = grid.axes()
    shape = (grid.nz, grid.ny, grid.nx)
    sx, sy = anat.shift
    labels = np.zeros(shape, dtype=np.uint8)
    bx, by = anat.body_r
    body = ((x - sx) / bx) ** 2 + ((y - 10 - sy) / by) ** 2 <= 1.0
    inner = ((x - sx) / (bx - 16)) ** 2 + ((y - 10 - sy) / (by - 14)) ** 2 <= 1.0
    labels[np.broadcast_to(body, shape)] = FAT
    labels[np.broadcast_to(inner, shape)] = MUSCLE
    labels[_ellipsoid(z, y, x, (60 + sx, 35 + sy, 25), (42, 32, 55)) & inner] = SPLEEN
    labels[_ellipsoid(z, y, x, (-72 + sx, 58 + sy, -55), (27, 30, 48))] = KIDNEY
    labels[_ellipsoid(z, y, x, (78 + sx, 58 + sy, -45), (27, 30, 48))] = KIDNEY
    vert = ((x - sx) / 20) ** 2 + ((y - 78 - sy) / 18) ** 2 <= 1.0
    labels[np.broadcast_to(vert, shape)] = BONE
    liver = _ellipsoid(z, y, x, anat.liver_c, anat.liver_r)
    lc = anat.liver_c
    liver |= _ellipsoid(z, y, x, (lc[0] + 75, lc[1] - 30, lc[2] + 15), (55, 35, 40))
    liver &= np.broadcast_to(inner, shape)
    labels[liver] = LIVER
    aorta = ((x - 18 - sx) / 11) ** 2 + ((y - 48 - sy) / 11) ** 2 <= 1.0
    labels[np.broadcast_to(aorta, shape)] = AORTA
    ivc_top = (lc[0] + 45, lc[1] + 42, lc[2] + 70)
    _tube(labels, z, y, x, (lc[0] + 45, lc[1] + 42, -200), ivc_top, 11, HEPVEIN)
    # portal vein: main trunk into the hilum, then right and left branches
    hilum = (lc[0] + 25, lc[1] + 15, lc[2] - 5)
    _tube(labels, z, y, x, (lc[0] + 70, lc[1] + 35, lc[2] - 45), hilum, 7.5, PORTAL)
    _tube(labels, z, y, x, hilum, (lc[0] - 40, lc[1] + 5, lc[2] + 5), 5.5, PORTAL, within=(LIVER,))
    _tube(labels, z, y, x, hilum, (lc[0] + 75, lc[1] - 25, lc[2] + 15), 4.5, PORTAL, within=(LIVER,))
    for dx_, dy_ in ((-70, -10), (-20, -45), (60, -35)):
        _tube(labels, z, y, x, (lc[0] + dx_, lc[1] + dy_, lc[2] + 10), ivc_top, 4.5, HEPVEIN, within=(LIVER, HEPVEIN))

    m = 0.45 * t.margin
    for tp in tumours:
        reach = tp.radius * (1 + m) + 14
        sl = _bbox(grid, tp.centre, reach)
        zz, yy, xx = z[sl[0]], y[:, sl[1]], x[:, :, sl[2]]
        dxv, dyv, dzv = xx - tp.centre[0], yy - tp.centre[1], zz - tp.centre[2]
        dist = np.sqrt(dxv ** 2 + dyv ** 2 + dzv ** 2) + 1e-6
        f = np.zeros_like(dist)
        for v, s in zip(tp.lobes, tp.lobe_sign):
            cos = (dxv * v[0] + dyv * v[1] + dzv * v[2]) / dist
            f += s * np.exp(5.0 * (cos - 1.0))
        reff = tp.radius * (1 + m * np.clip(f, -1, 1.5))
        local = labels[sl]
        in_liver = np.isin(local, (LIVER, PORTAL, HEPVEIN))
        if t.peritumoural > 0.05:
            cosh = (dxv * tp.halo_dir[0] + dyv * tp.halo_dir[1] + dzv * tp.halo_dir[2]) / dist
            halo = (dist <= reff + 18) & (cosh > 0.0) & (local == LIVER)
            local[halo] = HALO
        local[(dist <= reff) & (in_liver | (local == HALO))] = RIM
        # rim: the outer 30 % of the radius (at least 4 mm), so that it survives the model's coarse grid
        local[dist <= np.minimum(reff - 4.0, reff * 0.7)] = TUMOUR
        labels[sl] = local
        for c, r in tp.satellites:
            sl2 = _bbox(grid, c, r + 1)
            zz, yy, xx = z[sl2[0]], y[:, sl2[1]], x[:, :, sl2[2]]
            d2 = (xx - c[0]) ** 2 + (yy - c[1]) ** 2 + (zz - c[2]) ** 2
            loc = labels[sl2]
            loc[(d2 <= r * r) & np.isin(loc, (LIVER, HALO))] = TUMOUR
            labels[sl2] = loc
    return labels


def phase_table(t: TumourFeatures, scanner: Scanner) -> np.ndarray:
    tab = _BASE.copy()
    liver = _BASE[LIVER]
    a, w, rim, pte = t.aphe, t.washout, t.rim, t.peritumoural
    tab[TUMOUR] = (330,
                   liver[1] * (1 + 1.0 * a) * (1 - 0.6 * rim),
                   liver[2] * (1 - 0.4 * w),
                   liver[3] * (1 - 0.45 * w))
    tab[RIM] = (340,
                liver[1] * (1 + 1.0 * a) * (1 + 0.8 * rim),
                liver[2] * (1 - 0.15 * w),
                liver[3] * 1.15)  # enhancing capsule
    tab[HALO] = (liver[0], liver[1] * (1 + 1.2 * pte), liver[2], liver[3])
    # early arterial timing: less arterial enhancement everywhere except the aorta
    art_gain = scanner.arterial_timing
    tab[:, 1] = tab[:, 0] + (tab[:, 1] - tab[:, 0]) * art_gain
    return tab


def _smooth(v: np.ndarray) -> np.ndarray:
    """[1 2 1]/4 along each in-plane axis: partial-volume blur of hard label edges."""
    out = v.copy()
    out[:, 1:-1, :] = 0.25 * v[:, :-2, :] + 0.5 * v[:, 1:-1, :] + 0.25 * v[:, 2:, :]
    v2 = out.copy()
    out[:, :, 1:-1] = 0.25 * v2[:, :, :-2] + 0.5 * v2[:, :, 1:-1] + 0.25 * v2[:, :, 2:]
    return out


def render_phases(rng: np.random.Generator, grid: Grid, labels: np.ndarray, t: TumourFeatures,
                  scanner: Scanner, phases=(0, 1, 2, 3)) -> list[np.ndarray]:
    """Returns the *stored* pixel arrays (uint16, [D, H, W]) for each phase requested."""
    z, y, x = grid.axes()
    tab = phase_table(t, scanner).astype(np.float32)
    bias = np.exp(scanner.bias[0] * x + scanner.bias[1] * y + scanner.bias[2] * z).astype(np.float32)
    sigma = scanner.noise * _BASE[LIVER, 0]
    out = []
    for p in phases:
        v = _smooth(tab[labels, p]) * bias
        n1 = rng.normal(0, sigma, size=v.shape).astype(np.float32)
        n2 = rng.normal(0, sigma, size=v.shape).astype(np.float32)
        v = np.sqrt((v + n1) ** 2 + n2 ** 2)  # magnitude image: Rician noise
        v = scanner.gain * v + max(scanner.offset, 0.0)
        if scanner.rescale_slope is not None:
            v = (v - scanner.rescale_intercept) / scanner.rescale_slope
        out.append(np.clip(np.rint(v), 0, 4095).astype(np.uint16))
    return out


def modality_values(stored: np.ndarray, scanner: Scanner) -> np.ndarray:
    if scanner.rescale_slope is None:
        return stored.astype(np.float64)
    return stored.astype(np.float64) * scanner.rescale_slope + scanner.rescale_intercept
