// FlaxCheckpoint: Orbax/Flax checkpoints.
import KilnCore
