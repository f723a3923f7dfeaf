package docs

import "fmt"

// texts are the words of one language's pages.
type texts struct {
	lang      string
	otherLang string // folder of the other language
	otherName string // the other language's name, in that language

	allChapters string
	coming      string
	post        string
	// chapter names a chapter: "Chapter 6" / "6장"; chapterCell is the short form in tables.
	chapter     func(n int) string
	chapterCell func(n int) string

	indexIntro  string
	indexHeader string
	// footprint table on the index page
	footprintTitle, footprintIntro, footprintHeader, footprintCore string
	// a chapter that builds the cluster instead of installing into it
	infraTitle, infraIntro, infraAnsible, infraTerraform, infraKind string

	postLine string
	// postNone stands for the post until it is published; it links the page's sections.
	postNone     func(sections string) string
	requires     string
	requiresNone string
	next         string
	nextNone     string

	deploysHeading string
	deploysIntro   func(id string) string
	deploysHeader  string
	total          string
	components     func(n int) string
	images         func(n int) string
	noImages       string

	diagramHeading string
	diagramIntro   string
	namespace      string

	commandsHeading string
	cmdUp           string
	cmdBuild        string
	cmdCheck        string
	cmdStatus       string
	cmdOpen         func(name, target string) string
	cmdCreds        func(name, secret string) string
	cmdPush         func(dir, repo string) string
	cmdRender       string
	cmdDown         string

	checksHeading string
	checksHeader  string
	checksNone    string

	stepsHeading   string
	stepsHeader    string
	stepPreflight  string
	whatPreflight  func(mib int64) string
	stepCluster    string
	whatCluster    string
	stepInstall    func(name, namespace string) string
	whatRequired   func(chapter string) string
	stepChecks     string
	whatChecksNone string

	sectionsHeading   string
	sectionsIntro     string // no post yet: the CLI's links lead here
	sectionsIntroPost string
	checkItem         func(name string) string
	pathItem          func(name string) string
	readInPost        string
}

// textsFor returns the words of lang ("ko" or "en").
func textsFor(lang string) texts {
	if lang == "ko" {
		return texts{
			lang:      "ko",
			otherLang: "en",
			otherName: "English",

			allChapters: "전체 목차",
			coming:      "준비 중",
			post:        "본문",
			chapter:     func(n int) string { return fmt.Sprintf("%d장", n) },
			chapterCell: func(n int) string { return fmt.Sprintf("%d장", n) },

			indexIntro: "각 장은 블로그 글 한 편입니다. `mlops-series up chapter-N` 을 실행하면 그 글에서 다루는 " +
				"도구들이 로컬 kind 클러스터에 설치되고, 스모크 체크로 끝까지 동작하는지 확인합니다. " +
				"'준비 중'인 장은 아직 글과 스펙이 없습니다.",
			indexHeader:    "| 장 | 제목 | 도구 | 본문 |\n|--:|---|---|---|",
			footprintTitle: "리소스 요청량",
			footprintIntro: "각 장이 클러스터에 요청하는 메모리(MiB)와 CPU(m)입니다. `mlops-series render` 로 렌더링한 매니페스트에서 " +
				"계산하며(`mlops-series footprint` 로도 볼 수 있습니다), 선행 장까지 포함한 합계가 목표(MiB) 이내인지 표시합니다. " +
				"괄호 안의 (+N) 은 독자가 시작한 실행이 잠시 더하는 파드(5장 학습 파드 등)의 요청량으로, 목표 비교에는 넣지 않습니다.",
			footprintHeader: "| 장 | 메모리 | CPU | 선행 장 포함 메모리 | 선행 장 포함 CPU | 목표 |\n|---|--:|--:|--:|--:|---|",
			footprintCore:   "핵심 네 장 함께",
			infraTitle:      "인프라를 코드로 만들기",
			infraIntro: "이 장은 클러스터에 아무것도 설치하지 않습니다. 클러스터 자체를 코드로 만듭니다. Ansible 플레이북이 호스트를 " +
				"준비하고(infra/ansible), `mlops-series up chapter-1` 이 terraform-exec 로 infra/terraform/kind 모듈을 " +
				"init → plan → apply 합니다. Terraform 상태는 저장소가 아니라 사용자 설정 폴더에 둡니다.",
			infraAnsible:   "호스트 준비: 컨테이너 엔진, kubectl·kind, inotify·파일 한도 sysctl, 커널 모듈 (두 번째 실행은 changed=0)",
			infraTerraform: "클러스터 만들기: kind-config.yaml 과 같은 클러스터를 Terraform 으로",
			infraKind:      "Terraform 없이 kind 라이브러리로",

			postLine: "본문",
			postNone: func(sections string) string {
				return fmt.Sprintf("아직 공개되지 않았습니다. 단계마다 가리키는 본문 섹션은 아래 [본문 섹션](%s)에 정리되어 있습니다.", sections)
			},
			requires:     "필요한 장",
			requiresNone: "없음 (빈 클러스터에서 시작합니다)",
			next:         "다음 장",
			nextNone:     "없음 (시리즈의 마지막 장입니다)",

			deploysHeading: "배포되는 구성 요소",
			deploysIntro: func(id string) string {
				return fmt.Sprintf("`mlops-series up %s` 는 아래 Helm 릴리스를 이 순서대로 설치합니다. "+
					"필요한 장의 구성 요소가 먼저 설치되며, 이미 설치되어 있고 바뀐 것이 없으면 건너뜁니다. "+
					"메모리와 CPU는 파드가 요청(request)하는 양으로, `mlops-series render %s` 결과에서 계산했습니다.", id, id)
			},
			deploysHeader: "| 장 | 구성 요소 | 차트 | 버전 | 네임스페이스 | 메모리 요청 (MiB) | CPU 요청 (m) | 이미지 |\n" +
				"|---|---|---|---|---|--:|--:|---|",
			total:      "합계",
			components: func(n int) string { return fmt.Sprintf("구성 요소 %d개", n) },
			images:     func(n int) string { return fmt.Sprintf("이미지 %d개", n) },
			noImages:   "없음",

			diagramHeading: "구성도",
			diagramIntro: "네임스페이스별로 묶은 이 장의 구성 요소입니다. 화살표는 먼저 설치되는 쪽에서 " +
				"그것에 의존하는 쪽으로 향하고, 점선은 먼저 올라와 있어야 하는 장에서 나옵니다.",
			namespace: "네임스페이스",

			commandsHeading: "명령어",
			cmdUp:           "필요한 장까지 함께 설치하고 스모크 체크 실행",
			cmdBuild:        "이 장의 이미지를 로컬 엔진으로 빌드해 kind 노드에 올리기 (up 보다 먼저)",
			cmdCheck:        "스모크 체크만 다시 실행",
			cmdStatus:       "설치 상태와 준비 여부 확인",
			cmdOpen: func(name, target string) string {
				return fmt.Sprintf("브라우저로 %s 열기 (%s 포트 포워딩)", name, target)
			},
			cmdCreds: func(name, secret string) string {
				return fmt.Sprintf("%s 로그인 사용자와 비밀번호 보기 (Secret %s)", name, secret)
			},
			cmdPush: func(dir, repo string) string {
				return fmt.Sprintf("고친 %s/ 폴더를 클러스터의 Git 서버(%s)에 커밋하고 Flux 가 적용할 때까지 기다리기", dir, repo)
			},
			cmdRender: "적용할 매니페스트만 출력 (클러스터는 바꾸지 않음)",
			cmdDown:   "이 장이 설치한 것만 제거",

			checksHeading: "스모크 체크",
			checksHeader:  "| 체크 | 유형 | 확인하는 내용 | 본문 섹션 |\n|---|---|---|---|",
			checksNone:    "이 장에는 스모크 체크가 없습니다.",

			stepsHeading:  "단계와 본문 링크",
			stepsHeader:   "| # | 단계 | 하는 일 | 본문 섹션 |\n|--:|---|---|---|",
			stepPreflight: "사전 점검",
			whatPreflight: func(mib int64) string {
				return fmt.Sprintf("컨테이너 엔진과 여유 메모리 확인 (요청량 %d MiB)", mib)
			},
			stepCluster: "클러스터",
			whatCluster: "kind 클러스터를 만들거나 이미 있는 것을 재사용 (`--context` 를 주면 그 클러스터를 사용)",
			stepInstall: func(name, namespace string) string {
				return fmt.Sprintf("%s 설치 (네임스페이스 %s)", name, namespace)
			},
			whatRequired: func(chapter string) string {
				return fmt.Sprintf("%s의 구성 요소이며, 이미 설치되어 있으면 건너뜁니다.", chapter)
			},
			stepChecks:     "스모크 체크",
			whatChecksNone: "없음",

			sectionsHeading: "본문 섹션",
			sectionsIntro: "각 단계가 가리키는 본문 섹션과, 그 섹션이 다루는 이 장의 단계입니다. 본문이 공개되기 전까지는 " +
				"`mlops-series` 가 출력하는 `read:` 링크와 이 문서의 섹션 링크가 여기를 가리킵니다.",
			sectionsIntroPost: "각 단계가 가리키는 본문 섹션과, 그 섹션이 다루는 이 장의 단계입니다.",
			checkItem:         func(name string) string { return fmt.Sprintf("스모크 체크 `%s`", name) },
			pathItem:          func(name string) string { return fmt.Sprintf("`mlops-series check path` 의 `%s` 단계", name) },
			readInPost:        "본문에서 읽기",
		}
	}
	return texts{
		lang:      "en",
		otherLang: "ko",
		otherName: "한국어",

		allChapters: "All chapters",
		coming:      "coming",
		post:        "post",
		chapter:     func(n int) string { return fmt.Sprintf("Chapter %d", n) },
		chapterCell: func(n int) string { return fmt.Sprintf("%d", n) },

		indexIntro: "Each chapter is one post of the series. `mlops-series up chapter-N` installs the tools " +
			"that post covers on a local kind cluster and proves with smoke checks that they work end to end. " +
			"Chapters marked coming have no post and no spec yet.",
		indexHeader:    "| # | Chapter | Tools | Post |\n|--:|---|---|---|",
		footprintTitle: "Footprint",
		footprintIntro: "Memory (MiB) and CPU (m) each chapter requests from the cluster, measured from the manifests " +
			"`mlops-series render` prints (also shown by `mlops-series footprint`), with and without the chapters it " +
			"requires, against the target (MiB). A (+N) is what a pod a run you start adds while it lasts (chapter 5's " +
			"training pod); it is not compared with the target.",
		footprintHeader: "| Chapter | Memory | CPU | Memory with requires | CPU with requires | Target |\n|---|--:|--:|--:|--:|---|",
		footprintCore:   "core chapters together",
		infraTitle:      "Building the lab as code",
		infraIntro: "This chapter installs nothing into the cluster: it builds the cluster itself. An Ansible " +
			"playbook prepares the host (infra/ansible), and `mlops-series up chapter-1` runs the infra/terraform/kind " +
			"module through terraform-exec: init, plan (summarised), apply. Terraform's state lives in the user's " +
			"config folder, never in the repository.",
		infraAnsible:   "prepare the host: container engine, kubectl and kind, inotify and file-limit sysctls, kernel modules (a second run reports changed=0)",
		infraTerraform: "create the cluster: the same cluster as kind-config.yaml, with Terraform",
		infraKind:      "without Terraform, with the kind library",

		postLine: "Post",
		postNone: func(sections string) string {
			return fmt.Sprintf("not published yet; the post sections the steps point at are listed under [Post sections](%s) below.", sections)
		},
		requires:     "Requires",
		requiresNone: "nothing (starts from an empty cluster)",
		next:         "Next",
		nextNone:     "none (the last chapter of the series)",

		deploysHeading: "What it deploys",
		deploysIntro: func(id string) string {
			return fmt.Sprintf("`mlops-series up %s` installs these Helm releases in this order. Components of "+
				"required chapters come first and are skipped when already installed and unchanged. Memory and "+
				"CPU are what the pods request, measured from `mlops-series render %s`.", id, id)
		},
		deploysHeader: "| Chapter | Component | Chart | Version | Namespace | Memory request (MiB) | CPU request (m) | Images |\n" +
			"|---|---|---|---|---|--:|--:|---|",
		total:      "Total",
		components: func(n int) string { return plural(n, "component") },
		images:     func(n int) string { return plural(n, "image") },
		noImages:   "none",

		diagramHeading: "Diagram",
		diagramIntro: "The chapter's components, grouped by namespace. Arrows point from what is installed " +
			"first to what depends on it; dotted arrows come from the required chapters, which must be up first.",
		namespace: "namespace",

		commandsHeading: "Commands",
		cmdUp:           "install the chapter and what it requires, then run the checks",
		cmdBuild:        "build the chapter's own images with the local engine and load them into kind (before up)",
		cmdCheck:        "run the smoke checks again",
		cmdStatus:       "show what is installed and whether it is ready",
		cmdOpen: func(name, target string) string {
			return fmt.Sprintf("open %s in the browser (port-forward to %s)", name, target)
		},
		cmdCreds: func(name, secret string) string {
			return fmt.Sprintf("show the user and password to log in to %s (Secret %s)", name, secret)
		},
		cmdPush: func(dir, repo string) string {
			return fmt.Sprintf("commit the edited %s/ folder to the cluster's Git server (%s) and wait for Flux to apply it", dir, repo)
		},
		cmdRender: "print the manifests that up would apply, changing nothing",
		cmdDown:   "remove what this chapter installed",

		checksHeading: "Smoke checks",
		checksHeader:  "| Check | Type | What it proves | Post section |\n|---|---|---|---|",
		checksNone:    "This chapter declares no smoke checks.",

		stepsHeading:  "Steps and post sections",
		stepsHeader:   "| # | Step | What happens | Post section |\n|--:|---|---|---|",
		stepPreflight: "preflight",
		whatPreflight: func(mib int64) string {
			return fmt.Sprintf("checks the container engine and the free memory (%d MiB requested)", mib)
		},
		stepCluster: "cluster",
		whatCluster: "creates the kind cluster or reuses it (with `--context`, uses that cluster instead)",
		stepInstall: func(name, namespace string) string {
			return fmt.Sprintf("install %s (namespace %s)", name, namespace)
		},
		whatRequired: func(chapter string) string {
			return fmt.Sprintf("From %s; skipped when already installed.", chapter)
		},
		stepChecks:     "smoke checks",
		whatChecksNone: "none",

		sectionsHeading: "Post sections",
		sectionsIntro: "The post sections the steps point at, each with the steps of this chapter it covers. Until " +
			"the post is published, the `read:` links `mlops-series` prints and the section links of this page lead here.",
		sectionsIntroPost: "The post sections the steps point at, each with the steps of this chapter it covers.",
		checkItem:         func(name string) string { return fmt.Sprintf("smoke check `%s`", name) },
		pathItem:          func(name string) string { return fmt.Sprintf("the `%s` hop of `mlops-series check path`", name) },
		readInPost:        "read it in the post",
	}
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
