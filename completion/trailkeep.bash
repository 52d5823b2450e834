# bash completion for trailkeep (installed by `make install` as
# $(PREFIX)/share/bash-completion/completions/trailkeep).
#
# Commands and options come from the program itself (`trailkeep help` and
# `trailkeep COMMAND --help`, the same text as the man page), so they never
# drift; they are read once per shell.  CONFIG arguments complete to *.ini
# files (and directories), report's VERIFY.json to *.json, option values
# named FILE or DIR to files or directories.

# -g: bash-completion sources this file inside a function
declare -g _trailkeep_cmds=
declare -gA _trailkeep_opts=() _trailkeep_vals=()

# _trailkeep_load TK CMD: the options of `TK CMD --help` (its synopsis, its
# option lines and the global ones) into _trailkeep_opts[CMD], those taking a value as
# "OPT=VALUE-NAME" into _trailkeep_vals[CMD]
_trailkeep_load() {
	local tk=$1 cmd=$2 line tag item opt val opts="" vals=""
	while IFS= read -r line; do
		case $line in
		"  -"*)
			tag=${line#  }
			tag=${tag%%  *}
			local IFS=','
			for item in $tag; do
				item=${item# }
				opt=${item%% *}
				val=
				[[ $item == *" "* ]] && val=${item#* }
				opts+=" $opt"
				[[ -n $val ]] && vals+=" $opt=$val"
			done
			unset IFS
			;;
		esac
	done < <(command "$tk" "$cmd" --help 2>/dev/null)
	# and the options of the synopsis (sign lists its options only there)
	opts+=" $(command "$tk" "$cmd" --help 2>/dev/null | sed -n '/^usage:/,/^$/p' |
		grep -oE -- '(^|[[ ])--?[A-Za-z][A-Za-z0-9-]*' | tr -d '[ ')"
	_trailkeep_opts[$cmd]=$(printf '%s\n' $opts | sort -u | tr '\n' ' ')
	_trailkeep_vals[$cmd]=$vals
}

_trailkeep() {
	local cur prev tk=${COMP_WORDS[0]} cmd="" i w val
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=
	((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
	COMPREPLY=()
	if [[ -z $_trailkeep_cmds ]]; then
		_trailkeep_cmds=$(command "$tk" help 2>/dev/null | sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p' | tr '\n' ' ')
	fi
	# the command: the first word that is not an option (nor a global option's value)
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		case $w in
		--profile|--region|--endpoint-url|--ca-bundle|--timeout) ((i++)); continue ;;
		-*) continue ;;
		esac
		cmd=$w
		break
	done
	if [[ -z $cmd ]]; then
		if [[ $cur == -* ]]; then
			[[ -n ${_trailkeep_opts[help]+x} ]] || _trailkeep_load "$tk" help
			COMPREPLY=($(compgen -W "--help --version ${_trailkeep_opts[help]}" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$_trailkeep_cmds" -- "$cur"))
		fi
		return 0
	fi
	[[ -n ${_trailkeep_opts[$cmd]+x} ]] || _trailkeep_load "$tk" "$cmd"
	# the value of an option
	if [[ $prev == -* ]]; then
		for w in ${_trailkeep_vals[$cmd]}; do
			[[ ${w%%=*} == "$prev" ]] || continue
			val=${w#*=}
			case $val in
			DIR) COMPREPLY=($(compgen -d -- "$cur")) ;;
			FILE*|*FILE) COMPREPLY=($(compgen -f -- "$cur")) ;;
			esac
			return 0
		done
	fi
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "${_trailkeep_opts[$cmd]} --help" -- "$cur"))
		return 0
	fi
	case $cmd in
	help) COMPREPLY=($(compgen -W "$_trailkeep_cmds" -- "$cur")) ;;
	report) COMPREPLY=($(compgen -d -- "$cur") $(compgen -f -X '!*.json' -- "$cur")) ;;
	plan|apply|verify|doctor) COMPREPLY=($(compgen -d -- "$cur") $(compgen -f -X '!*.ini' -- "$cur")) ;;
	esac
	return 0
}

complete -F _trailkeep -o filenames trailkeep
