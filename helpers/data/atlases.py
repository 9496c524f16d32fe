"""Brain atlases behind one interface: what a masker needs, plus labels, networks and coordinates.

* ``seitzman300``: 300 spheres with network and region labels (Seitzman et al. 2018). Its
  coordinates ship inside nilearn, so it works offline: the default.
* ``dosenbach160``: 160 spheres in six networks (Dosenbach et al. 2010), also shipped with nilearn.
* ``schaefer400``: 400 parcels in Yeo's 7 networks (Schaefer et al. 2018), the paper's atlas;
  downloaded by nilearn into the data home. Offline, the paper authors' own 3 mm copy (pinned in
  the registry, found in ``ALICE_MIRROR``) is used instead; its parcels are ordered by hemisphere
  and network, so their networks follow from :data:`SCHAEFER400_NETWORK_RUNS` (labels then name
  hemisphere, network and rank, e.g. ``7Networks_LH_Vis_3``, without the sub-region names).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

import nibabel as nib
import numpy as np
from scipy.spatial import cKDTree

from helpers.data.fetch import DataUnavailableError, fetch
from helpers.data.storage import get_data_home

SPHERE_RADIUS_MM = {"seitzman300": 5.0, "dosenbach160": 5.0}

SCHAEFER_NETWORK_NAMES = {
    "Vis": "Visual",
    "SomMot": "Somatomotor",
    "DorsAttn": "DorsalAttention",
    "SalVentAttn": "Salience",
    "Limbic": "Limbic",
    "Cont": "FrontoParietal",
    "Default": "DefaultMode",
}

SCHAEFER400_MIRROR_KEY = (
    "emotional-decoding-2025/Schaefer2018_400Parcels_7Networks_order_FSLMNI152_3mm.nii"
)
SCHAEFER400_NETWORK_RUNS = {
    "LH": (
        ("Vis", 31), ("SomMot", 37), ("DorsAttn", 23), ("SalVentAttn", 22),
        ("Limbic", 13), ("Cont", 22), ("Default", 52),
    ),
    "RH": (
        ("Vis", 30), ("SomMot", 40), ("DorsAttn", 23), ("SalVentAttn", 25),
        ("Limbic", 13), ("Cont", 30), ("Default", 39),
    ),
}  # fmt: skip
"""Parcels per network, in label order (1-200 left, 201-400 right), of Schaefer 400 / 7 networks."""


@dataclass(frozen=True)
class Atlas:
    """Regions of interest with their names, networks, anatomical regions and MNI centres."""

    name: str
    kind: str  # "spheres" or "labels"
    labels: tuple[str, ...]
    networks: tuple[str, ...]
    regions: tuple[str, ...]
    coords: np.ndarray = field(repr=False)  # (P, 3) MNI mm
    radius_mm: float | None = None
    maps: str | None = None  # path of a label image for kind == "labels"

    @property
    def n_rois(self) -> int:
        return len(self.labels)

    @property
    def n_edges(self) -> int:
        return self.n_rois * (self.n_rois - 1) // 2

    def network_names(self) -> list[str]:
        """Networks in order of first appearance."""
        return list(dict.fromkeys(self.networks))

    def network_order(self) -> np.ndarray:
        """ROI indices sorted by network (stable), for network-ordered matrices."""
        rank = {name: i for i, name in enumerate(self.network_names())}
        return np.argsort([rank[n] for n in self.networks], kind="stable")

    def rois_in(self, name: str) -> np.ndarray:
        """Indices of ROIs whose network or region is ``name`` (case-insensitive)."""
        wanted = name.lower()
        hits = [
            i
            for i, (net, reg) in enumerate(zip(self.networks, self.regions))
            if net.lower() == wanted or reg.lower() == wanted
        ]
        if not hits:
            known = sorted(set(self.networks) | set(self.regions))
            raise ValueError(
                f"atlas {self.name} has no network or region {name!r}; known: {', '.join(known)}"
            )
        return np.asarray(hits)


def _to_str(values) -> tuple[str, ...]:
    return tuple(v.decode() if isinstance(v, bytes) else str(v) for v in values)


@cache
def load_atlas(name: str) -> Atlas:
    """Load an atlas by name (see module docstring).

    Parameters
    ----------
    name : {"seitzman300", "schaefer400", "dosenbach160"}
        The atlas.

    Returns
    -------
    Atlas
        Its P ROIs: ``labels``, ``networks`` and ``regions`` (P names each), ``coords`` (P, 3) in
        MNI mm, and for spheres ``radius_mm``, for parcels ``maps`` (a label image).
    """
    from nilearn import datasets  # deferred: imports most of nilearn, needed only on first use

    if name == "seitzman300":
        bunch = datasets.fetch_coords_seitzman_2018()
        coords = bunch.rois[["x", "y", "z"]].to_numpy(dtype=float)
        networks = _to_str(bunch.networks)
        regions = _to_str(bunch.regions)
        labels = tuple(
            f"{net}_{reg}_{i:03d}" for i, (net, reg) in enumerate(zip(networks, regions))
        )
        return Atlas(name, "spheres", labels, networks, regions, coords, SPHERE_RADIUS_MM[name])
    if name == "dosenbach160":
        bunch = datasets.fetch_coords_dosenbach_2010()
        coords = bunch.rois[["x", "y", "z"]].to_numpy(dtype=float)
        networks = _to_str(bunch.networks)
        labels = _to_str(bunch.labels)
        regions = tuple(" ".join(label.split()[:-1]) or label for label in labels)
        return Atlas(name, "spheres", labels, networks, regions, coords, SPHERE_RADIUS_MM[name])
    if name == "schaefer400":
        return _load_schaefer400()
    raise ValueError(f"unknown atlas {name!r}; allowed: seitzman300, schaefer400, dosenbach160")


def _load_schaefer400() -> Atlas:
    # deferred: nilearn's fetchers and plotting (matplotlib) only for the downloaded atlas
    from nilearn import datasets
    from nilearn.plotting import find_parcellation_cut_coords

    try:
        bunch = datasets.fetch_atlas_schaefer_2018(
            n_rois=400,
            yeo_networks=7,
            resolution_mm=2,
            data_dir=get_data_home() / "nilearn",
            verbose=0,
        )
    except Exception as exc:  # noqa: BLE001 - nilearn raises several network errors
        try:
            return _schaefer400_from_registry()
        except DataUnavailableError:
            pass
        raise DataUnavailableError(
            "cannot get the Schaefer 400 atlas: nilearn could not download it "
            f"({exc.__class__.__name__}) and {SCHAEFER400_MIRROR_KEY} is not in ALICE_MIRROR. "
            f"Connect once, copy nilearn's schaefer_2018 folder into {get_data_home() / 'nilearn'}, "
            "or set ALICE_MIRROR; offline, use atlas: seitzman300 (ships with nilearn)."
        ) from None
    labels = [lab for lab in _to_str(bunch.labels) if lab.lower() != "background"]
    networks = tuple(
        SCHAEFER_NETWORK_NAMES.get(lab.split("_")[2], lab.split("_")[2]) for lab in labels
    )
    regions = tuple(("cortexL" if "_LH_" in lab else "cortexR") for lab in labels)
    coords = np.asarray(find_parcellation_cut_coords(bunch.maps), dtype=float)
    return Atlas(
        "schaefer400", "labels", tuple(labels), networks, regions, coords, None, str(bunch.maps)
    )


def _schaefer400_from_registry() -> Atlas:
    """Schaefer 400 from the pinned 3 mm file of the paper's authors (cache, mirror or download)."""
    from nilearn.plotting import find_parcellation_cut_coords  # deferred: imports matplotlib

    path = fetch(SCHAEFER400_MIRROR_KEY)
    labels, networks, regions = [], [], []
    for hemisphere, runs in SCHAEFER400_NETWORK_RUNS.items():
        for network, count in runs:
            for rank in range(1, count + 1):
                labels.append(f"7Networks_{hemisphere}_{network}_{rank}")
                networks.append(SCHAEFER_NETWORK_NAMES[network])
                regions.append("cortexL" if hemisphere == "LH" else "cortexR")
    parcels = np.unique(np.asarray(nib.load(path).dataobj))
    if parcels[parcels > 0].size != len(labels):
        raise ValueError(f"{path} has {parcels[parcels > 0].size} parcels, expected {len(labels)}")
    coords = np.asarray(find_parcellation_cut_coords(str(path)), dtype=float)
    return Atlas(
        "schaefer400", "labels", tuple(labels), tuple(networks), tuple(regions), coords, None,
        str(path),
    )  # fmt: skip


def roi_assignment(atlas: Atlas, affine: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    """Label image on a grid: for each voxel, the index of the ROI it belongs to, or -1.

    Spheres: voxels whose centre lies within the radius of an ROI centre go to the nearest centre,
    and every ROI keeps at least its nearest voxel. Parcels: nearest-neighbour resampling.
    """
    if atlas.kind == "labels":
        from nilearn.image import resample_img  # deferred: heavy, and only parcel atlases need it

        resampled = resample_img(
            nib.load(atlas.maps),
            target_affine=affine,
            target_shape=shape,
            interpolation="nearest",
            force_resample=True,
            copy_header=True,
        )
        return np.asarray(resampled.get_fdata(), dtype=int) - 1

    grid = np.indices(shape).reshape(3, -1).T
    mm = grid @ affine[:3, :3].T + affine[:3, 3]
    inverse = np.linalg.inv(affine)
    radius = atlas.radius_mm or 5.0
    distance, nearest = cKDTree(atlas.coords).query(mm, k=1, distance_upper_bound=radius)
    assignment = np.where(np.isfinite(distance), nearest, -1).astype(int)
    # Guarantee each ROI its nearest voxel so no ROI is empty on a coarse grid.
    for roi, centre in enumerate(atlas.coords):
        ijk = np.round(inverse[:3, :3] @ centre + inverse[:3, 3]).astype(int)
        ijk = np.clip(ijk, 0, np.asarray(shape) - 1)
        flat = np.ravel_multi_index(tuple(ijk), shape)
        assignment[flat] = roi
    return assignment.reshape(shape)


__all__ = ["Atlas", "load_atlas", "roi_assignment"]
