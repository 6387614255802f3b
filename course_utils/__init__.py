"""Helper package of the semantic segmentation course, in wings a learner meets in this order.

``data`` (VOC on disk, Dataset, transforms, instances; notebooks 01-02) -> ``models``
(upsampling, FCN, U-Net, DeepLab; 03-06), ``losses`` (07), ``metrics`` (08) -> ``training``
(fit, evaluate, predict, scoring; 04-09) -> ``reference`` (the shipped models) ->
``classroom`` (navigation, student copies, site, exercise checks); ``runtime`` (seed, device,
profile) below them all and ``viz`` (figures). A wing imports only the wings before it
(CONTRIBUTING.md).
"""
