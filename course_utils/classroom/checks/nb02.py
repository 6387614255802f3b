"""Self-checks for notebook 02 (segmentation tasks), for any image id the notebook asks about."""

from course_utils.data import instances, voc

from . import matches, report


def check_instance_counts(answer, root, image_id: str) -> None:
    """Exercise 1: ``{class name: number of objects}`` for the objects of ``image_id``."""
    expected = instances.count_by_class(instances.read_instances(root, image_id))
    report(matches(answer, expected, lambda counts: {k: int(v) for k, v in counts.items()}),
           f"objects per class in {image_id}",
           "each object id (not 0 or 255) of the object mask is one object; its class is "
           "the class mask's value under it; keys are names from voc.VOC_CLASSES")


def check_touching_pairs(answer, root, image_id: str) -> None:
    """Exercise 2: the pairs of same-class object ids of ``image_id`` that share an edge."""
    insts = instances.read_instances(root, image_id)
    label = {inst.id: inst.label for inst in insts}
    expected = {(a, b) for a, b in instances.touching_pairs(insts) if label[a] == label[b]}
    report(matches(answer, expected, lambda pairs: {tuple(sorted(int(v) for v in pair))
                                                    for pair in pairs}),
           f"touching same-class objects in {image_id}",
           "shift each object's mask one pixel up/down/left/right and look for overlap with "
           "another object of the same class")


def check_components_ok(answer, root, image_id: str) -> None:
    """Exercise 3: the class names of ``image_id`` whose 4-connected components of the class
    mask are exactly as many as its objects (connected components count them right)."""
    truth = instances.count_by_class(instances.read_instances(root, image_id))
    cls = voc.read_mask(voc.mask_path(root, image_id))
    found = instances.count_by_class(instances.instances_from_semantic(cls))
    expected = {name for name, n in truth.items() if found.get(name) == n}
    report(not isinstance(answer, str) and matches(answer, expected, set),
           f"classes whose components count the objects of {image_id} right",
           "compare, class by class, scipy.ndimage.label's count with the number of objects")
