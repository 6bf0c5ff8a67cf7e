#!/usr/bin/env bash
# Rewrites the Western Highland Chatino court rulings (data/lid/courts/ctp.txt, tone-letter
# orthography) in the practical spelling Chatino speakers type: tone letters dropped and
# the glottal stop, written `q` there, written as an apostrophe. The output is training
# text of its own (data/lid/courts/ctp-x-practical.txt), line for line with its source.
set -euo pipefail
cd "$(dirname "$0")/.."
LC_ALL=C.UTF-8 sed -E \
  -e 's/[ʰʱʲʳʴʵʶʷʸᴬᴭᴮᴯᴰᴱᴲᴳᴴᴵᴶᴷᴸᴹᴺᴻᴼᴽᴾᴿᵀᵁᵂᵃᵄᵅᵆᵇᵈᵉᵊᵋᵌᵍᵎᵏᵐᵑᵒᵓᵔᵕᵖᵗᵘᵙᵚᵛᵜᵝᵞᵟᵠᵡᵢᵣᵤᵥᵦᵧᵨᵩᵪᶛᶜᶝᶞᶟᶠᶡᶢᶣᶤᶥᶦᶧᶨᶩᶪᶫᶬᶭᶮᶯᶰᶱᶲᶳᶴᶵᶶᶷᶸᶹᶺᶻᶼᶽᶾᶿⁱⁿ]//g' \
  -e "s/[qQ]/'/g" \
  data/lid/courts/ctp.txt > data/lid/courts/ctp-x-practical.txt
