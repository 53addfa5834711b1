"""Studies: many participants, counterbalanced conditions, a prior that grows, shared data.

A study is a folder with a study file (`study.toml`): the conditions each participant meets (an
agent, its settings, its steps, its prior), in an order balanced over participants, each
participant first giving consent and calibrating, with a break between conditions. Its
participants' sessions are `laetitia train` sessions; the study compares the conditions across
participants and exports its data for others.

| module | what it holds |
|---|---|
| `protocol` | the study file, read strictly (`Study`, `Condition`, `read_study`) |
| `example` | the example study `laetitia study init` writes |
| `order` | the balanced Latin square (`condition_order`) |
| `participants` | pseudonyms, `participant.json`, the locks, the study's sessions |
| `screens` | the consent and break screens (`ParticipantScreens`, `PygameScreens`) |
| `run` | a participant's run, resumable (`run_participant`), a dry run (`simulate`) |
| `status` | who has done what (`study_status`) |
| `analysis` | each session's figures, paired comparisons, the mixed model, order effects |
| `report` | the HTML report and the JSON of its figures (`write_report`) |
| `export` | Parquet tables and Minari datasets (`export`), and the log of exports |
| `withdraw` | a participant's data deleted everywhere (`withdraw`) |

The package imports nothing: import the module you need.
"""
