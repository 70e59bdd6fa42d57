#!/usr/bin/env bash
# Shell / cron: render a job file overnight and act on the exit code.
#
#   crontab -e
#   30 1 * * *  /studio/tools/lrc_toolbox/docs/integration/nightly_render.sh /shots/nightly.json >> /var/log/lrc-nightly.log 2>&1
#
# Extra arguments go to `lrc-batch-render render` (e.g. --gpus 1,2 or --simulate).
set -u
job="${1:?usage: nightly_render.sh JOB.json [render options]}"
shift
echo "$(date '+%F %T') rendering $job"
# --foreground: the engine runs in this process, not in the local render service, so the
# job's exit code is the batch's and nothing outlives the cron task
lrc-batch-render render --config "$job" --foreground --quiet "$@"
code=$?
case $code in
  0)   echo "$(date '+%F %T') all frames done" ;;
  1)   echo "$(date '+%F %T') some frames failed; see: lrc-batch-render status" ;;
  2)   echo "$(date '+%F %T') the job file or its scene is wrong (fix it, see the message above)" ;;
  3)   echo "$(date '+%F %T') this machine cannot render it (mayapy, GPU or disk)" ;;
  130) echo "$(date '+%F %T') interrupted" ;;
esac
exit $code
