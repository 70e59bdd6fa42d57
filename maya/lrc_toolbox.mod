+ MAYAVERSION:2024 lrc_toolbox 0.1.0 .
PYTHONPATH+:=..
PYTHONPATH+:=site-packages-2024

+ MAYAVERSION:2025 lrc_toolbox 0.1.0 .
PYTHONPATH+:=..
PYTHONPATH+:=site-packages-2025

+ MAYAVERSION:2026 lrc_toolbox 0.1.0 .
PYTHONPATH+:=..
PYTHONPATH+:=site-packages-2026

+ MAYAVERSION:2027 lrc_toolbox 0.1.0 .
PYTHONPATH+:=..
PYTHONPATH+:=site-packages-2027
