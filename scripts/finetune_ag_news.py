"""Fine-tune a BERT on AG News on 1 CPU, 1 GPU, several GPUs or several machines.

    accelerate launch --config_file configs/accelerate/cpu_2proc.yaml \
        scripts/finetune_ag_news.py --cpu --output_dir runs/10_scaling_out/cpu2
    python scripts/finetune_ag_news.py --help

The program lives in ``nlpcourse.train.scale`` (tested there); this file is what a launcher runs.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the course package, uninstalled

from nlpcourse.train.scale import main

if __name__ == "__main__":
    sys.exit(main())
