"""The Gymnasium environments: `laetitia/Smile-v0` and `laetitia/SmileDiscrete-v0`.

| module | what it holds |
|---|---|
| `registration` | the env ids and `register_envs` (run by `import laetitia`) |
| `base` | `EmoticonEnv`: the machinery both envs share (render, react, reward) |
| `smile` | `SmileEnv`, `laetitia/Smile-v0`: continuous moves of every parameter |
| `smile_discrete` | `SmileDiscreteEnv`, `laetitia/SmileDiscrete-v0`: one parameter up or down |
| `history` | `ShownHistory`: a wrapper adding the last K shown emoticons and their rewards |
| `make` | `make_env`: an env from an env id, a viewer and a run's settings (every run's way) |

Build them with `gymnasium.make(ENV_ID, viewer=..., ...)`, or from a run's settings with
`make_env`; importing this package loads no env.
"""
