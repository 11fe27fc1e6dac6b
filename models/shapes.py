"""Names and shapes of the reference networks, without torch (the command line and the RTL side
read them): the model names, their input shapes, and VGG-16's conv layers at CIFAR size (32x32
input), for benchmarks and storage reports: (name, C, F, H=W of the input), all 3x3, stride 1,
padding 1."""

MODELS = ("digits", "vgg16", "resnet18")
INPUT_SHAPE = {"digits": (1, 8, 8), "vgg16": (3, 32, 32), "resnet18": (3, 32, 32)}

VGG16_CIFAR_CONVS = [
    ("conv1_1", 3, 64, 32), ("conv1_2", 64, 64, 32),
    ("conv2_1", 64, 128, 16), ("conv2_2", 128, 128, 16),
    ("conv3_1", 128, 256, 8), ("conv3_2", 256, 256, 8), ("conv3_3", 256, 256, 8),
    ("conv4_1", 256, 512, 4), ("conv4_2", 512, 512, 4), ("conv4_3", 512, 512, 4),
    ("conv5_1", 512, 512, 2), ("conv5_2", 512, 512, 2), ("conv5_3", 512, 512, 2),
]
