"""nlpcourse: the tested helpers behind the NLP deep-learning course notebooks."""

from nlpcourse.config import get_device, get_profile, seed_everything
from nlpcourse.data.datasets import load_ag_news, load_sst2

__version__ = "0.1.0"
__all__ = ["get_device", "get_profile", "load_ag_news", "load_sst2", "seed_everything"]
