"""The truck backer-upper (Nguyen & Widrow 1990): torch kinematics, the Gymnasium env, its pictures."""
