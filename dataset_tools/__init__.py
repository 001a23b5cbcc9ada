"""Raw data -> the formats the UnMask framework reads.

pascal_part: PASCAL-Part .mat annotations -> COCO JSON over the 44 generalized parts (model K's data).
voc:         single-class VOC2010 images -> class-set image folders (model M's data).
folders:     ImageNet/Flickr-style class folders; perceptual-hash de-duplication.
synthetic:   the embedded dataset, written in the same raw formats as PASCAL-Part and VOC.
"""
