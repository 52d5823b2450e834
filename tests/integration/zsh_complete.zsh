# zsh_complete.zsh FPATH_DIR BIN_DIR LINE...: complete each LINE (Tab at its
# end) in a real interactive zsh with compinit and FPATH_DIR's _trailkeep,
# driven through a pseudo-terminal (zsh/zpty); prints, per LINE, the
# terminal lines holding the matches the completion offered, each as
# <<match>>, then "__CASE__".  compadd is wrapped
# to print what it is given (-O collects the matches without adding them).
zmodload zsh/zpty || exit 2
fdir=$1 bdir=$2
shift 2
zpty z zsh -f -i
zpty -w z "PROMPT=''; RPROMPT=''; PATH=$bdir:\$PATH; fpath=($fdir \$fpath); autoload -U compinit; compinit -u -D"
zpty -w z 'compadd () { local -a __h; builtin compadd -O __h "$@"; (( $#__h )) && print -rl -- "<<"${^__h}">>"; builtin compadd "$@" }'
zpty -w z "zstyle ':completion:*' list-prompt ''; unsetopt LIST_BEEP; setopt NO_BEEP"
zpty -w z "bindkey '^I' complete-word; bindkey '^X' send-break"
for l in "$@"; do
  zpty -n -w z "$l"$'\t'
  sleep 1                              # let the widget run before the line is dropped
  zpty -n -w z $'\x18'                 # send-break: drop the line (and any typeahead,
  sleep 0.5                            # so wait before typing on)
  zpty -w z "  print __CA''SE__"      # (the first character after a break can be lost)
  while zpty -r z line; do
    [[ $line == *__CASE__* ]] && { print __CASE__; break }
    [[ $line == *'<<'*'>>'* && $line != *'${^__h}'* ]] && print -r -- ${line//$'\r'/}
  done
done
zpty -d z
