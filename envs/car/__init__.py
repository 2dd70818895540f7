"""The kinematic car (tricycle model): torch kinematics, the KinematicCar-v0 env and its pictures."""
