"""mytorch for HW2P1, importable as a package."""
from .resampling import *
from .activation import *
from .flatten import Flatten
from .Conv1d import *
from .Conv2d import *
from .ConvTranspose import *
from .pool import *
from .blocks import Conv1dReLU
